"""The staff commands' --url is an http(s) URL: urlopen would open file: URLs too."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from supportd import cli


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com", "127.0.0.1:4599"])
def test_only_http_urls_are_taken(url: str) -> None:
    result = CliRunner().invoke(cli.main, ["staff", "list", "--url", url, "--token", "t"])
    assert result.exit_code == 2
    assert "--url must be an http:// or https:// URL" in result.output
