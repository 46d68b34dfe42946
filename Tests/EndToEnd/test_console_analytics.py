"""The analytics screen in a real browser against the real services: emails and an SMS sent,
deliveries, opens and a click played by the provider fakes, then the totals table, the table by
channel and the Chart.js chart show the same right figures."""
import random
import uuid

import requests
from playwright.sync_api import expect

from console_helpers import sign_in
from engage_harness import psql, wait_for
from messaging_helpers import MessagingSpace


def chart_sums(page):
    """Each drawn dataset's label and the sum of its points, read from the Chart.js instance."""
    return page.evaluate("""() => {
        const chart = Chart.getChart("analytics-chart");
        return Object.fromEntries(chart.data.datasets.map(d => [d.label, d.data.reduce((a, b) => a + b, 0)]));
    }""")


def cell(page, table, row, column):
    return page.locator(f"#{table} tbody tr").filter(has=page.get_by_role("rowheader", name=row, exact=True)) \
        .locator("td").nth(column)


def test_the_chart_and_the_tables_show_the_right_totals(console, page, profiles, subscriptions, messaging, fakes,
                                                        events_source):
    ms = MessagingSpace(profiles, subscriptions, messaging, fakes)
    wait_for(lambda: requests.get(f"{events_source.url}/spaces/{ms.id}/analytics/messages", headers=ms.auth).status_code == 200,
             timeout=60, what="the space's token to reach events-source")
    tag = uuid.uuid4().hex[:6]
    newsletter = ms.template("EMAIL", "Newsletter", {"subject": "News", "html": '<p><a href="https://shop.example/sale">Sale</a></p>'
                                                                                '<a href="{{unsubscribe_link}}">Unsubscribe</a>'})
    reminder = ms.template("SMS", "Reminder", {"body": "Your cart is waiting"})
    emails = [f"reader{i}-{tag}@shop.example" for i in range(3)]
    phone = "+1555" + "".join(random.choice("0123456789") for _ in range(7))
    readers = [ms.person(f"Reader{i}", email=email) for i, email in enumerate(emails)]
    texter = ms.person("Texter", phone=phone)
    ms.subscribe([{"key": email, "type": "EMAIL", "status": "SUBSCRIBED"} for email in emails]
                 + [{"key": phone, "type": "SMS", "status": "SUBSCRIBED"}])

    # Subscription states reach messaging-send on a topic: a send before them would be skipped.
    wait_for(lambda: psql(f"SELECT count(*) FROM messaging_send.subscription_states WHERE space_id = '{ms.id}'")[0][0] == "4",
             what="subscription states to reach messaging")
    mails = [ms.send(reader, "EMAIL", newsletter) for reader in readers]
    sms = ms.send(texter, "SMS", reminder)
    for message in mails + [sms]:
        ms.wait_state(message, "sent")
    for message in mails:
        assert fakes.control("sendgrid-event", {"message_id": message, "event": "delivered"})["posted"][0]["status"] == 200
    for message in (mails[0], mails[0], mails[1]):  # the first opened twice
        assert fakes.control("sendgrid-event", {"message_id": message, "event": "open"})["posted"][0]["status"] == 200
    fakes.control("sendgrid-event", {"message_id": mails[0], "event": "click", "url": "https://shop.example/sale"})
    ms.twilio_status(ms.message(sms)["providerMessageId"], "delivered")

    sign_in(page, console, ms.space)
    page.goto(console.url + "/analytics")
    page.get_by_label("Group by").select_option(label="Channel")
    page.get_by_role("button", name="Show").click()

    # events-source counts what it reads off the message-events topic: reload until it has it all.
    def counted():
        page.reload()
        return cell(page, "analytics-totals", "Clicked", 0).inner_text() == "1" and \
            cell(page, "analytics-totals", "Delivered", 0).inner_text() == "4"
    wait_for(counted, timeout=90, interval=1, what="the figures to reach the analytics page")

    # Totals: messages, events, rate of sent.
    expect(cell(page, "analytics-totals", "Sent", 0)).to_have_text("4")
    expect(cell(page, "analytics-totals", "Delivered", 2)).to_have_text("100.0 %")
    expect(cell(page, "analytics-totals", "Opened", 0)).to_have_text("2")
    expect(cell(page, "analytics-totals", "Opened", 1)).to_have_text("3")
    expect(cell(page, "analytics-totals", "Opened", 2)).to_have_text("50.0 %")
    expect(cell(page, "analytics-totals", "Clicked", 2)).to_have_text("25.0 %")
    expect(cell(page, "analytics-totals", "Skipped", 0)).to_have_text("0")
    # By channel: the rates are each channel's own.
    expect(cell(page, "analytics-groups", "Email", 0)).to_have_text("3")
    expect(cell(page, "analytics-groups", "Email", 2)).to_have_text("2 (66.7 %)")
    expect(cell(page, "analytics-groups", "SMS", 0)).to_have_text("1")
    expect(cell(page, "analytics-groups", "SMS", 1)).to_have_text("1 (100.0 %)")
    expect(page.get_by_text("https://shop.example/sale")).to_be_visible()
    # The chart draws the groups for the chosen metric (sent).
    assert chart_sums(page) == {"Email": 3, "SMS": 1}

    # Ungrouped, rates against delivered: one line per metric, the same sums as the table.
    page.get_by_label("Group by").select_option(label="Nothing (all messages)")
    page.get_by_label("Rates against").select_option(label="Delivered")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#analytics-groups")).to_have_count(0)
    expect(cell(page, "analytics-totals", "Opened", 2)).to_have_text("50.0 %")
    sums = chart_sums(page)
    assert (sums["Sent"], sums["Delivered"], sums["Opened"], sums["Clicked"], sums["Skipped"]) == (4, 4, 2, 1, 0)
    assert page.evaluate("Chart.getChart('analytics-chart').canvas.width") > 0

    # An email-only view per hour of the last 24 hours.
    page.get_by_label("Range").select_option(label="Last 24 hours")
    page.get_by_label("Per", exact=True).select_option(label="Hour")
    page.get_by_label("Channel").select_option(label="Email")
    page.get_by_role("button", name="Show").click()
    expect(cell(page, "analytics-totals", "Sent", 0)).to_have_text("3")
    assert len(page.evaluate("Chart.getChart('analytics-chart').data.labels")) == 24
    assert chart_sums(page)["Sent"] == 3
