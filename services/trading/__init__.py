"""Paper trading: the pure rules (order terms, fills, fees, time in force, linked orders).

Nothing in this package does I/O: the persistence layer loads an order, asks these functions what
happens to it, and stores the answer. See docs/trading.md for the rules in one table.
"""
