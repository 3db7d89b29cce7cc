"""What adapters share to show a turn on a platform: the port protocol, the edit
coalescer, rate windows and the job card's neutral content."""
