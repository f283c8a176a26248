#!/usr/bin/env python3
"""Print the versions.yml of a pipeline task (Python packages and bedtools)."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.versions import software_versions


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--process", required=True, help="the task's process name (Nextflow task.process)")
    return p


def main(args: argparse.Namespace) -> None:
    sys.stdout.write(software_versions(args.process))


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
