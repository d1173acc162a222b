"""The command line: a thin shell over the library; the only place that prints and exits."""
