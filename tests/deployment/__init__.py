"""Helpers of the deployment tests (tests/test_deployment_*.py): the files read, processes run."""
