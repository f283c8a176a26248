#!/usr/bin/env python3
"""Write the run report: one self-contained HTML page with inputs, QC, training, evaluation, variants, versions."""

import argparse
import sys

from stagevep.cli import run_cli
from stagevep.report.build import write_report
from stagevep.report.inputs import parse_file_args


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--output", required=True, help="report HTML to write (e.g. report/report.html)")
    p.add_argument("--samplesheet", help="the run's samplesheet CSV")
    p.add_argument("--params", help="the resolved parameters as a JSON object")
    p.add_argument("--versions", nargs="*", default=[], help="versions.yml of the tasks")
    p.add_argument("--nextflow-version", help="the Nextflow version that ran the pipeline")
    p.add_argument("--file", action="append", default=[], metavar="REL=PATH",
                   help="an output: its path below --outdir (which decides its section) = a local copy; repeatable")
    return p


def main(args: argparse.Namespace) -> None:
    write_report(args.output, parse_file_args(args.file), args.samplesheet, args.params, args.versions,
                 args.nextflow_version)


if __name__ == "__main__":
    sys.exit(run_cli(build_parser, main))
