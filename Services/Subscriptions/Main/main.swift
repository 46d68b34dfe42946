import SubscriptionsCore
import ServiceKit

await ServiceMain.run("subscriptions") { try await SubscriptionsService.run() }
