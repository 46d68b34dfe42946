"""An audiences-service view of a test space: definitions through the API, membership from the
API and from engage.audience-membership."""
import datetime

import requests

from engage_harness import Space, bearer, topic_records, wait_for


def iso(moment):
    return moment.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso(seconds_ago=0.0):
    return iso(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds_ago))


class AudienceSpace(Space):
    def __init__(self, profiles_url, audiences_url):
        super().__init__(profiles_url)
        self.audiences_url = audiences_url
        wait_for(lambda: self.get("/audiences").status_code == 200, timeout=60,
                 what="the space's token to reach the audiences service")

    def get(self, path, **params):
        return requests.get(f"{self.audiences_url}/spaces/{self.id}{path}", params=params, headers=bearer(self.token))

    def post(self, path, body):
        return requests.post(f"{self.audiences_url}/spaces/{self.id}{path}", json=body, headers=bearer(self.token))

    def patch(self, path, body):
        return requests.patch(f"{self.audiences_url}/spaces/{self.id}{path}", json=body, headers=bearer(self.token))

    def create(self, key, definition, kind="audiences", live=True):
        response = self.post(f"/{kind}", {"key": key, "name": key.replace("_", " ").title(), "definition": definition})
        assert response.status_code == 201, response.text
        if live:
            self.wait_built(key, kind)
        return response.json()["data"]

    def wait_built(self, key, kind="audiences", timeout=60):
        """Until the newest version is live and its build (backfill) has finished."""
        def built():
            body = self.get(f"/{kind}/{key}").json()["data"]
            return body["status"] == "live" and body["build"]["phase"] == "done" and body
        return wait_for(built, timeout=timeout, what=f"{key} to be built")

    def size(self, key):
        response = self.get(f"/audiences/{key}/size")
        assert response.status_code == 200, response.text
        return response.json()["data"]["size"]

    def members(self, key):
        result, cursor = [], None
        while True:
            params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            response = self.get(f"/audiences/{key}/members", **params)
            assert response.status_code == 200, response.text
            body = response.json()
            result += [member["profileId"] for member in body["data"]]
            if not body.get("next"):
                return result
            cursor = body["next"]

    def track(self, user_id, event, properties=None, seconds_ago=0.0, anonymous_id=None):
        body = {"event": event, "properties": properties or {}, "timestamp": now_iso(seconds_ago)}
        body.update({"userId": user_id} if user_id else {"anonymousId": anonymous_id})
        if user_id and anonymous_id:
            body["anonymousId"] = anonymous_id
        self.send("track", body)

    def membership_events(self, expected=None, audience_key=None, timeout=60.0, idle=4.0):
        """The space's membership events in the order they happened (the topic orders per profile
        only): by the history sequence that ends each event's id."""
        return sorted(topic_records("engage.audience-membership",
                             lambda v: v["spaceId"] == self.id and (audience_key is None or v["audienceKey"] == audience_key),
                             expected=expected, timeout=timeout, idle=idle), key=lambda e: int(e["id"].rsplit(":", 1)[1]))

    def wait_member_ids(self, key, expected_count, timeout=60):
        return wait_for(lambda: len(self.members(key)) == expected_count and self.members(key), timeout=timeout,
                        what=f"{expected_count} members in {key}")

    def wait_profile_id(self, identifier, timeout=60):
        return wait_for(lambda: self.profile_id(identifier), timeout=timeout, what=f"a profile for {identifier}")
