"""What a process of a deployment shares with the others: who is alive (`processes`),
requests stored before they are acknowledged (`intake`), and the periodic upkeep
that adopts what a dead process left behind (`upkeep`)."""
