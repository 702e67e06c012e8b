// kited: hosts every domain of this machine and serves the control API on a Unix socket.
print("kited: not built yet")
