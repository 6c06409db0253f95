"""The local stack without Docker: what stack.py and launcher.py share.

    paths       where installs, pid files, logs, data and configs live
    processes   pid files, start, stop by pid, port checks, the listening-pid scan
    part        what every part is: install, configure, start, probe
    kafka, seaweedfs, secantusdb, maildev   the four parts, each with its probe
    parts       the list of parts and their ports
    lifecycle   bringing a part up (reuse, start, wait until it answers) and down

Standard library only: it runs before the project's dependencies are installed.
"""
