"""Test order: the longest test files first, so that two workers (pytest-xdist, ``--dist loadfile``) finish together.

The notebooks' end-to-end run alone takes about a third of the suite's time in one process; started last
it would run on one worker while the other idles.
"""

LONGEST_FIRST = ("test_notebooks.py", "test_devices.py", "test_cli.py", "test_training.py", "test_protocols.py")
"""Test files by decreasing run time (measured with ``--durations``); the others follow in their usual order."""


def pytest_collection_modifyitems(session, config, items):
    def rank(item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: within a file, and among the other files, the order is kept
