import ServiceKit
import SubscriptionsCore

await ServiceMain.run("subscriptions") { try await SubscriptionsService.run() }
