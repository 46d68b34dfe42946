import SubscriptionsCore

try await SubscriptionsService.run()
