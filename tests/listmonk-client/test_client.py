"""rebound driven by the real PyPI `listmonk` client (pinned in requirements.txt).

Each test is a call of the client as a listmonk user makes it, and asserts
what a listmonk v6.2.0 server answers to it (read from the client's source and
from listmonk's handlers and queries). Every test runs on SQLite and on
PostgreSQL (the `rebound` fixture in conftest.py). Where rebound must answer
differently from listmonk (docs/listmonk.md), the test says so; a call that
rebound does not yet answer like listmonk is marked
`@pytest.mark.xfail(strict=True, reason=...)` naming what is missing (none
today), and the strict mark fails the run as soon as rebound does.

Out of scope: client calls whose listmonk feature rebound does not have, as a
bounce-processing server that sends only campaign test mails:
- templates(), template_by_id(), template_preview_by_id(), create_template(),
  update_template(), delete_template(), set_default_template()
  (/api/templates): rebound keeps no templates; a campaign's body is sent as it
  is.
- upload_media() (/api/media) and create_campaign()/update_campaign()'s
  media_ids: rebound keeps no media library.
- send_transactional_email() (/api/tx): rebound sends no transactional mail.
- campaign_preview_by_id() (/api/campaigns/{id}/preview): no template
  rendering, so no preview.
- set_campaign_status(), start_campaign(), pause_campaign(),
  cancel_campaign() (/api/campaigns/{id}/status): rebound never sends a
  campaign to its lists; listmonk does.
- confirm_optin() (/subscription/optin/{uuid}): the public subscription pages
  are listmonk's.
"""

import httpx2
import pytest
from listmonk.models import SubscriberStatuses


def make_list(client, unique, **kwargs):
    return client.create_list(unique('list'), **kwargs)


def make_subscriber(client, unique, list_ids=(), **kwargs):
    email = f'{unique("sub")}@example.com'
    return client.create_subscriber(email, name='A Subscriber', list_ids=set(list_ids), **kwargs)


def statuses(subscriber):
    """Each list of `subscriber` by id, with its subscription status."""
    return {int(lst['id']): lst['subscription_status'] for lst in subscriber.lists}


# --- login and health -------------------------------------------------------------


def test_login_checks_the_credentials_at_the_health_endpoint(client):
    assert client.is_healthy()
    assert client.verify_login()
    # A wrong password: /api/health refuses it, which login() reports as False.
    assert not client.login('admin', 'not-the-password')


# --- lists ------------------------------------------------------------------------


def test_create_list(client, unique):
    name = unique('Newsletter')
    lst = client.create_list(name, list_type='private', optin='double', tags=['news', 'weekly'],
                             description='Weekly news')
    assert lst.id > 0
    assert lst.uuid
    assert lst.name == name
    assert lst.type == 'private'
    assert lst.optin == 'double'
    assert lst.tags == ['news', 'weekly']
    assert lst.description == 'Weekly news'
    assert lst.subscriber_count == 0


def test_create_list_defaults_to_public_single_optin(client, unique):
    lst = make_list(client, unique)
    assert (lst.type, lst.optin, lst.tags) == ('public', 'single', [])


def test_list_by_id(client, unique):
    created = make_list(client, unique, tags=['t'])
    got = client.list_by_id(created.id)
    assert (got.id, got.uuid, got.name, got.type, got.optin, got.tags) == (
        created.id, created.uuid, created.name, created.type, created.optin, created.tags)


def test_list_by_id_of_a_missing_list_is_an_error(client):
    # listmonk answers 400 ("list not found"); the client raises on any 4xx.
    with pytest.raises(httpx2.HTTPStatusError) as e:
        client.list_by_id(999999)
    assert 400 <= e.value.response.status_code < 500


def test_all_lists(client, unique):
    ids = {make_list(client, unique).id for _ in range(3)}
    assert ids <= {lst.id for lst in client.lists()}


def test_update_list(client, unique):
    created = make_list(client, unique, tags=['old'], description='before')
    name = unique('Renamed')
    updated = client.update_list(created.id, list_name=name, list_type='private', optin='double',
                                 tags=['new'], description='after')
    assert (updated.id, updated.name, updated.type, updated.optin, updated.tags, updated.description) == (
        created.id, name, 'private', 'double', ['new'], 'after')
    assert client.list_by_id(created.id).name == name


def test_update_list_without_a_name_is_refused(client, unique):
    # listmonk's UpdateList requires the name ("lists.invalidName"), even for a change of type alone.
    created = make_list(client, unique)
    with pytest.raises(httpx2.HTTPStatusError) as e:
        client.update_list(created.id, list_type='private')
    assert e.value.response.status_code == 400
    assert client.list_by_id(created.id).type == 'public'


def test_delete_list(client, unique):
    created = make_list(client, unique)
    assert client.delete_list(created.id) is True
    with pytest.raises(httpx2.HTTPStatusError):
        client.list_by_id(created.id)


# --- subscribers ------------------------------------------------------------------


def test_create_subscriber(client, unique):
    double = make_list(client, unique, optin='double')
    email = f'{unique("New.Person")}@Example.com'
    sub = client.create_subscriber(email, name='New Person', list_ids={double.id},
                                   attribs={'city': 'Portland', 'plan': {'tier': 2}})
    assert sub.id > 0
    assert sub.uuid
    assert sub.email == email.lower()  # the client lowercases it
    assert sub.name == 'New Person'
    assert sub.status == 'enabled'
    assert sub.attribs == {'city': 'Portland', 'plan': {'tier': 2}}
    assert statuses(sub) == {double.id: 'unconfirmed'}
    lst = sub.lists[0]
    assert (lst['name'], lst['optin'], lst['type']) == (double.name, 'double', 'public')


def test_create_subscriber_leaves_single_optin_subscriptions_unconfirmed(client, unique):
    # listmonk's InsertSubscriber: the subscription status is "unconfirmed" unless pre-confirmed,
    # whatever the list's opt-in.
    single = make_list(client, unique)
    sub = make_subscriber(client, unique, [single.id])
    assert statuses(sub) == {single.id: 'unconfirmed'}


def test_create_subscriber_preconfirmed(client, unique):
    double = make_list(client, unique, optin='double')
    sub = make_subscriber(client, unique, [double.id], pre_confirm=True)
    assert statuses(sub) == {double.id: 'confirmed'}


def test_create_subscriber_twice_is_a_conflict(client, unique):
    sub = make_subscriber(client, unique)
    with pytest.raises(httpx2.HTTPStatusError) as e:
        client.create_subscriber(sub.email, name='Again')
    assert e.value.response.status_code == 409  # listmonk: "subscribers.emailExists"


def test_subscriber_by_email(client, unique):
    sub = make_subscriber(client, unique)
    make_subscriber(client, unique)
    found = client.subscriber_by_email(sub.email)
    assert found is not None
    assert (found.id, found.uuid, found.email) == (sub.id, sub.uuid, sub.email)


def test_subscriber_by_email_with_a_plus(client, unique):
    # The client sends the '+' as %2b inside subscribers.email='...'.
    email = f'{unique("first")}+tag@example.com'
    sub = client.create_subscriber(email, name='Plus')
    found = client.subscriber_by_email(email)
    assert found is not None and found.id == sub.id


def test_subscriber_by_email_of_nobody_is_none(client, unique):
    assert client.subscriber_by_email(f'{unique("nobody")}@example.com') is None


def test_subscriber_by_id(client, unique):
    lst = make_list(client, unique)
    sub = make_subscriber(client, unique, [lst.id])
    make_subscriber(client, unique)
    found = client.subscriber_by_id(sub.id)
    assert found is not None
    assert (found.id, found.email, found.name) == (sub.id, sub.email, sub.name)
    assert statuses(found) == {lst.id: 'unconfirmed'}


def test_subscriber_by_uuid(client, unique):
    sub = make_subscriber(client, unique)
    make_subscriber(client, unique)
    found = client.subscriber_by_uuid(sub.uuid)
    assert found is not None
    assert (found.id, found.uuid) == (sub.id, sub.uuid)


def test_all_subscribers(client, unique):
    ids = {make_subscriber(client, unique).id for _ in range(3)}
    assert ids <= {s.id for s in client.subscribers()}


def test_subscribers_of_a_list(client, unique):
    lst = make_list(client, unique)
    on = {make_subscriber(client, unique, [lst.id]).id for _ in range(2)}
    make_subscriber(client, unique)
    assert {s.id for s in client.subscribers(list_id=lst.id)} == on


def test_subscribers_by_query(client, unique):
    city = unique('City')
    sub = make_subscriber(client, unique, attribs={'city': city})
    make_subscriber(client, unique, attribs={'city': 'elsewhere'})
    found = client.subscribers(query_text=f"subscribers.attribs->>'city' = '{city}'")
    assert [s.id for s in found] == [sub.id]


def test_update_subscriber(client, unique):
    keep = make_list(client, unique, optin='double')
    drop = make_list(client, unique)
    add = make_list(client, unique, optin='double')
    sub = make_subscriber(client, unique, [keep.id, drop.id], attribs={'city': 'Portland'})
    sub.name = 'Renamed Person'
    sub.email = f'{unique("moved")}@example.com'
    sub.attribs = {'city': 'Bengaluru'}

    updated = client.update_subscriber(sub, add_to_lists={add.id}, remove_from_lists={drop.id})
    # update_subscriber reads the subscriber back with subscriber_by_id (an SQL query).
    assert updated is not None, 'subscriber_by_id found nobody after the update'
    assert (updated.name, updated.email, updated.attribs, updated.status) == (
        'Renamed Person', sub.email, {'city': 'Bengaluru'}, 'enabled')
    # The list left out is dropped; the new one is confirmed (the client sends preconfirm_subscriptions).
    assert set(statuses(updated)) == {keep.id, add.id}
    assert statuses(updated)[add.id] == 'confirmed'


def test_update_subscriber_confirms_unconfirmed_subscriptions(client, unique):
    # listmonk's update-subscriber-with-lists with preconfirm: an unconfirmed subscription becomes
    # confirmed (only an unsubscribed one is kept as it is).
    double = make_list(client, unique, optin='double')
    sub = make_subscriber(client, unique, [double.id])
    assert statuses(sub) == {double.id: 'unconfirmed'}
    updated = client.update_subscriber(sub)
    assert updated is not None, 'subscriber_by_id found nobody after the update'
    assert statuses(updated) == {double.id: 'confirmed'}


def test_disable_and_enable_subscriber(client, unique):
    lst = make_list(client, unique)
    sub = make_subscriber(client, unique, [lst.id], pre_confirm=True)
    disabled = client.disable_subscriber(sub)
    assert disabled is not None, 'subscriber_by_id found nobody after the update'
    assert disabled.status == 'disabled'
    enabled = client.enable_subscriber(disabled)
    assert enabled.status == 'enabled'
    assert statuses(enabled) == {lst.id: 'confirmed'}


def test_block_subscriber_unsubscribes_every_list(client, unique):
    a, b = make_list(client, unique), make_list(client, unique)
    sub = make_subscriber(client, unique, [a.id, b.id], pre_confirm=True)
    blocked = client.block_subscriber(sub)
    assert blocked is not None, 'subscriber_by_id found nobody after the update'
    assert blocked.status == SubscriberStatuses.blocklisted
    # listmonk's update-subscriber-with-lists: a blocklisted subscriber's subscriptions become unsubscribed,
    assert statuses(blocked) == {a.id: 'unsubscribed', b.id: 'unsubscribed'}
    # and stay so when the subscriber is enabled again.
    assert statuses(client.enable_subscriber(blocked)) == {a.id: 'unsubscribed', b.id: 'unsubscribed'}


def test_add_subscribers_to_lists(client, unique):
    have = make_list(client, unique)
    target = make_list(client, unique, optin='double')
    subs = [make_subscriber(client, unique, [have.id]) for _ in range(2)]
    # The client answers False for any error status, so its True means listmonk's 200.
    assert client.add_subscribers_to_lists([s.id for s in subs], [target.id], status='confirmed') is True
    listed = {s.id: statuses(s) for s in client.subscribers(list_id=target.id)}
    assert listed == {s.id: {have.id: 'unconfirmed', target.id: 'confirmed'} for s in subs}


def test_delete_subscriber_by_id(client, unique):
    sub = make_subscriber(client, unique)
    assert client.delete_subscriber(overriding_subscriber_id=sub.id) is True
    assert sub.id not in {s.id for s in client.subscribers()}


def test_delete_subscriber_by_email(client, unique):
    sub = make_subscriber(client, unique)
    other = make_subscriber(client, unique)
    assert client.delete_subscriber(email=sub.email.upper()) is True
    remaining = {s.id for s in client.subscribers()}
    assert sub.id not in remaining and other.id in remaining


def test_delete_subscriber_by_email_of_nobody_is_false(client, unique):
    assert client.delete_subscriber(email=f'{unique("nobody")}@example.com') is False


# --- campaigns --------------------------------------------------------------------


def make_campaign(client, unique, list_ids, **kwargs):
    kwargs.setdefault('from_email', 'News <news@example.com>')
    kwargs.setdefault('content_type', 'html')
    kwargs.setdefault('body', '<p>Hello from the campaign</p>')
    return client.create_campaign(unique('Campaign'), kwargs.pop('subject', 'The subject'),
                                  list_ids=set(list_ids), **kwargs)


def test_create_campaign(client, unique):
    lst = make_list(client, unique)
    camp = make_campaign(client, unique, [lst.id], tags=['spring'],
                         headers=[{'X-Campaign-Test': 'yes'}], alt_body='Hello')
    assert camp.id > 0 and camp.uuid
    assert camp.subject == 'The subject'
    assert camp.from_email == 'news <news@example.com>'  # the client lowercases it
    assert (camp.content_type, camp.body, camp.altbody) == ('html', '<p>Hello from the campaign</p>', 'Hello')
    # A new campaign as listmonk makes it: a regular e-mail draft, nothing sent or seen yet.
    assert (camp.status, camp.type, camp.messenger) == ('draft', 'regular', 'email')
    assert (camp.views, camp.clicks, camp.sent) == (0, 0, 0)
    assert camp.tags == ['spring']
    assert camp.headers == [{'X-Campaign-Test': 'yes'}]
    assert [(int(lst_['id']), lst_['name']) for lst_ in camp.lists] == [(lst.id, lst.name)]


def test_campaign_by_id(client, unique):
    lst = make_list(client, unique)
    created = make_campaign(client, unique, [lst.id])
    got = client.campaign_by_id(created.id)
    assert (got.id, got.uuid, got.name, got.subject, got.body) == (
        created.id, created.uuid, created.name, created.subject, created.body)


def test_campaign_by_id_of_a_missing_campaign_is_an_error(client):
    with pytest.raises(httpx2.HTTPStatusError) as e:
        client.campaign_by_id(999999)
    assert 400 <= e.value.response.status_code < 500


def test_all_campaigns(client, unique):
    lst = make_list(client, unique)
    ids = {make_campaign(client, unique, [lst.id]).id for _ in range(2)}
    assert ids <= {c.id for c in client.campaigns()}


def test_update_campaign(client, unique):
    first, second = make_list(client, unique), make_list(client, unique)
    camp = make_campaign(client, unique, [first.id])
    camp.name = unique('Renamed')
    camp.subject = 'A new subject'
    camp.body = '<p>New body</p>'
    camp.tags = ['autumn']
    camp.lists = [{'id': second.id}]
    updated = client.update_campaign(camp)
    assert (updated.name, updated.subject, updated.body, updated.tags) == (
        camp.name, 'A new subject', '<p>New body</p>', ['autumn'])
    assert [int(lst['id']) for lst in updated.lists] == [second.id]


def test_test_campaign_sends_to_the_subscribers(client, unique, rebound):
    lst = make_list(client, unique)
    sub = make_subscriber(client, unique, [lst.id])
    camp = make_campaign(client, unique, [lst.id], subject='Test send subject')
    assert client.test_campaign(camp.id, [sub.email]) is True
    messages = rebound.smtp.to(sub.email)
    assert len(messages) == 1
    assert 'Subject: Test send subject' in messages[0].data
    assert 'Hello from the campaign' in messages[0].data


def test_delete_campaign(client, unique):
    lst = make_list(client, unique)
    camp = make_campaign(client, unique, [lst.id])
    assert client.delete_campaign(camp.id) is True
    with pytest.raises(httpx2.HTTPStatusError):
        client.campaign_by_id(camp.id)
