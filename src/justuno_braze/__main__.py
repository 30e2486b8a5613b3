from justuno_braze.cli import main

main()
