//! PDF documents: facts (poppler pdfinfo/pdftotext) and page rendering (pdftoppm).
