from gtdocs.cli import run

run()
