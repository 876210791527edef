"""streamwatch: find the questions and the distrust in live-commerce chat, in real time."""

__version__ = "0.1.0"
