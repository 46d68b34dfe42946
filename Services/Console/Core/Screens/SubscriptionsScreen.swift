import Hummingbird

/// Subscriptions: a contact's consent per channel and group with its history and a form to change
/// it, the email subscription groups, and contacts imported from a CSV file.
struct SubscriptionsScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        ContactStates(console: console).register(on: router)
        SubscriptionGroups(console: console).register(on: router)
        CSVImports(console: console).register(on: router)
    }
}
