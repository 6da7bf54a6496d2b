from harvest.testing.fixtures import main

main()
