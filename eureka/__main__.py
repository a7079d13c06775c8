from eureka.cli import main

main()
