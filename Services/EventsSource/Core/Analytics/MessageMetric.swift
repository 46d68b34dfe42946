import Contracts

/// The message a count belongs to: what analytics can be filtered and grouped by.
struct MessageDimensions: Hashable, Sendable {
    var channel: String
    var templateId: String
    var journeyId: String
    var stepId: String
    var broadcastId: String

    init(channel: SubscriptionChannel?, templateId: String?, journeyId: String?, stepId: String?, broadcastId: String?)
    {
        self.channel = channel?.columnName ?? ""
        self.templateId = templateId ?? ""
        self.journeyId = journeyId ?? ""
        self.stepId = stepId ?? ""
        self.broadcastId = broadcastId ?? ""
    }

    init(_ event: MessageEvent) {
        self.init(
            channel: event.channel, templateId: event.templateId, journeyId: event.journeyId,
            stepId: event.journeyStepId,
            broadcastId: event.broadcastId)
    }
}
