"""A feed is XML 1.0: characters it cannot carry (noncharacters such as U+FFFF, which a title may hold) are left
out, so one title cannot make the whole feed unreadable."""

from __future__ import annotations

from lxml import etree

from tests.conftest import new_topic


async def test_a_title_with_a_character_xml_cannot_carry_leaves_the_feed_readable(anon, participant, category):
    topic = await new_topic(participant, category.slug, title="Faktura med rart tegn \uffff og \ufffe her")
    for path in ("/feed.atom", f"/c/{category.slug}/feed.atom"):
        response = await anon.get(path)
        assert response.status_code == 200
        feed = etree.fromstring(response.content)  # raised "PCDATA invalid Char value 65535" before
        titles = [t.text for t in feed.iter("{http://www.w3.org/2005/Atom}title")]
        assert "Faktura med rart tegn  og  her" in titles, (path, titles[:5])
    assert topic["id"]
