"""A messaging space plus the journeys API: journeys, broadcasts and what they produced."""
import time
import uuid

import requests

from engage_harness import topic_records, wait_for
from messaging_helpers import MessagingSpace


class JourneySpace(MessagingSpace):
    def __init__(self, profiles, subscriptions, messaging, fakes, journeys, audiences=None):
        super().__init__(profiles, subscriptions, messaging, fakes)
        self.journeys, self.audiences = journeys, audiences
        wait_for(lambda: self.jget("/journeys").status_code == 200, timeout=60, what="the space's token to reach journeys")
        if audiences:
            wait_for(lambda: requests.get(f"{audiences.url}/spaces/{self.id}/audiences", headers=self.auth).status_code == 200,
                     timeout=60, what="the space's token to reach audiences")

    def jrequest(self, method, path, body=None):
        return requests.request(method, f"{self.journeys.url}/spaces/{self.id}{path}", json=body, headers=self.auth)

    def jget(self, path):
        return self.jrequest("GET", path)

    def journey(self, name, definition, publish=True):
        created = self.jrequest("POST", "/journeys", {"name": name, "definition": definition})
        assert created.status_code == 201, created.text
        journey_id = created.json()["data"]["id"]
        if publish:
            self.publish(journey_id)
        return journey_id

    def publish(self, journey_id, step_mapping=None):
        # Templates reach journeys through engage.templates: wait until the draft validates.
        wait_for(lambda: self.jrequest("POST", f"/journeys/{journey_id}/validate").json()["data"]["valid"], timeout=30,
                 what=f"journey {journey_id} to validate")
        published = self.jrequest("POST", f"/journeys/{journey_id}/publish", {"stepMapping": step_mapping} if step_mapping else None)
        assert published.status_code == 200, published.text
        return published.json()["data"]

    def stats(self, journey_id):
        return self.jget(f"/journeys/{journey_id}/stats").json()["data"]

    def step(self, journey_id, step_id, version=None):
        for step in self.stats(journey_id)["steps"]:
            if step["stepId"] == step_id and (version is None or step["version"] == version):
                return step
        return {"now": 0, "entered": 0, "completed": 0, "exited": 0, "converted": 0}

    def instances(self, journey_id, profile_id):
        response = self.jget(f"/journeys/{journey_id}/instances?profileId={profile_id}")
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def track(self, user_id, event, **properties):
        self.space.send("track", {"userId": user_id, "event": event, "properties": properties,
                                  "messageId": f"m-{uuid.uuid4().hex}"})

    def user(self, name, phone=None, email=None, **traits):
        """A person known to every service: returns (user id, profile id)."""
        profile_id = self.person(name, phone=phone, email=email, **traits)
        return self.last_user_id, profile_id

    def requests_of(self, journey_id=None, broadcast_id=None, expected=None, timeout=60.0):
        def match(r):
            return (journey_id is None or r.get("journeyId") == journey_id) and (broadcast_id is None or r.get("broadcastId") == broadcast_id)
        return topic_records("engage.message-requests", match, expected=expected, timeout=timeout)

    def journey_events(self, journey_id, expected=None, timeout=60.0):
        return topic_records("engage.journey-events", lambda e: e.get("journeyId") == journey_id, expected=expected, timeout=timeout)


def until(seconds):
    """A deadline `seconds` from now, for waits the journey itself defines."""
    return time.monotonic() + seconds


def audience(js, key, definition):
    """An audience in the audiences service; returns its id."""
    response = requests.post(f"{js.audiences.url}/spaces/{js.id}/audiences", json={"key": key, "name": key, "definition": definition},
                             headers=js.auth)
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]
