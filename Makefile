PYTHON ?= python3
TEX_PACKAGES = texlive-latex-base texlive-latex-recommended texlive-pictures poppler-utils

.PHONY: test install install-test tex lint bench

install:
	$(PYTHON) -m pip install -e '.[torch]'

install-test:
	$(PYTHON) -m pip install -e '.[test]'

# TeX Live for the equation sheets, only where pdflatex is missing and apt is usable.
tex:
	@if ! command -v pdflatex >/dev/null 2>&1 || ! command -v pdftotext >/dev/null 2>&1 \
	    || ! kpsewhich tikz.sty >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(TEX_PACKAGES); \
	  else echo "pdflatex missing and apt-get unavailable: install TeX Live by hand" >&2; exit 1; fi; \
	fi

lint:
	$(PYTHON) -m ruff check .

test: install-test tex
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest

bench:
	bpttlab bench
