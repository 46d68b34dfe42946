import EventsSourceCore

try await EventsSourceService.run()
