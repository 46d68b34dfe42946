import EventsSourceCore
import ServiceKit

await ServiceMain.run("events-source") { try await EventsSourceService.run() }
