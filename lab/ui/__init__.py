"""The Streamlit layer of the pages that need more than one file: each page's entry under pages/
reads as its outline and calls into its package here. lab/app stays free of Streamlit."""
