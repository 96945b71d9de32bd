"""The autograder: builds handouts from the reference, grades submissions in a sandbox, reports."""
