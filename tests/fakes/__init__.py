"""Local stand-ins for remote services, served over real sockets on loopback."""
