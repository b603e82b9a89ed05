"""html_to_pdf(): WeasyPrint, with a URL fetcher that sees only the build's own files,
tagged (PDF/UA-1) so the charts carry their descriptions."""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Mapping
from typing import Any

from recap.errors import RenderError

logger = logging.getLogger(__name__)

# A base URL that names no real host: every relative URL in the page resolves under it,
# and the fetcher below answers only for files of this build.
BASE_URL = "https://recap-build.invalid/"
# Tagged for screen readers (headings, tables, lists; each chart a Figure whose /Alt is
# the chart's alt text), with the metadata PDF/UA asks for.
PDF_VARIANT = "pdf/ua-1"


def build_fetcher(files: Mapping[str, bytes]) -> Any:
    """WeasyPrint's URL fetcher for a build: ``files`` under BASE_URL, nothing else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class BuildFetcher(URLFetcher):  # type: ignore[misc]
        """Serves the build's files; refuses the network and the local disk."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith(BASE_URL):
                name = url[len(BASE_URL) :].split("?")[0].split("#")[0]
                if name in files:
                    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, files[name], {"Content-Type": mime})
            logger.warning("PDF: refused to fetch %s (outside the build)", url[:120])
            raise ValueError(f"refused to fetch {url[:120]}: outside the build")

    return BuildFetcher()


def html_to_pdf(html: str, files: Mapping[str, bytes]) -> bytes:
    """Render ``html`` to PDF bytes; relative URLs resolve to ``files`` of the build only."""
    import weasyprint

    try:
        doc = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=build_fetcher(files))
        pdf = doc.write_pdf(pdf_variant=PDF_VARIANT)
    except (ValueError, OSError) as e:
        raise RenderError(f"the PDF could not be rendered: {e}") from None
    if not pdf:
        raise RenderError("the PDF renderer produced no output")
    return bytes(pdf)
