from zoetrope.cli import main

main()
