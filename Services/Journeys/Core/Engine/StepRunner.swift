import Contracts
import Foundation
import Persistence

/// A journey version as the engine runs it.
public struct JourneyRef: Sendable {
    public var spaceId: String
    public var journeyId: String
    public var name: String
    public var version: Int
    public var definition: JourneyDefinition
}

/// One pass of one profile through a journey.
struct InstanceRef: Sendable {
    var id: String
    var profileId: String
    var enteredAt: Date
    /// The triggering event's name and properties, or the audience entered: part of the context a
    /// destination step sends.
    var trigger: [String: JSONValue]
}

enum PathStatus: String, Sendable {
    /// About to enter `stepId`.
    case ready
    /// Inside `stepId` until `dueAt` (or an awaited event, which sets `resumeBranch` and makes it due).
    case waiting
    case done
}

/// Where one branch of an instance is. An instance starts with one path; a multi-branch split
/// that follows every matching branch forks more.
struct PathState: Sendable, Hashable {
    var pathId: String
    var stepId: String
    var status: PathStatus
    /// Kept when a new version maps the path onto a new step, so waits count from the first entry.
    var stepEnteredAt: Date?
    var dueAt: Date?
    var resumeBranch: String?
}

/// Everything one advance of one path produced; the advancer writes it in one transaction.
struct StepEffects: Sendable {
    struct Send: Sendable {
        var request: MessageRequest
        var stepId: String
        var goal: ConversionGoal?
    }

    var paths: [PathState] = []
    var events: [JourneyEvent] = []
    var sends: [Send] = []
    var records: [OutboxMessage] = []
    /// (step id, "entered" | "completed")
    var counts: [(String, String)] = []
    /// Set by an exit step: the whole instance ends.
    var exitReason: String?
    /// The step a path ended on (end of path, exit step or holdout), for the per-step exit count.
    var endedAt: String?
}

/// Advances one path as far as it can go now: through instant steps (splits, sends, trait writes)
/// until it must wait or its path ends. Pure: reads nothing but its arguments.
struct StepRunner {
    let journey: JourneyRef
    let instance: InstanceRef
    let profile: ProfileSnapshot
    let context: ConditionContext
    let now: Date

    /// A path runs at most this many steps in one advance (a published graph has no cycles; this
    /// only bounds a bad mapping).
    static let maxStepsPerAdvance = 500

    func advance(_ start: PathState) -> StepEffects {
        var effects = StepEffects()
        var path = start
        var forks: [PathState] = []
        var remaining = Self.maxStepsPerAdvance
        steps: while path.status != .done, remaining > 0 {
            remaining -= 1
            guard let step = journey.definition.stepsById[path.stepId] else {
                // Only possible through a bad version mapping; the path ends rather than loops.
                path.status = .done
                effects.endedAt = path.stepId
                break
            }
            let execution = ExecutionIds.stepExecution(
                instanceId: instance.id, pathId: path.pathId, version: journey.version, stepId: step.id)
            if path.status == .ready {
                let enteredAt = path.stepEnteredAt ?? now
                path.stepEnteredAt = enteredAt
                effects.events.append(event(JourneyEvent.Name.stepEntered, step: step, scope: execution))
                effects.counts.append((step.id, "entered"))
                switch enter(
                    step, path: &path, enteredAt: enteredAt, execution: execution, forks: &forks, effects: &effects)
                {
                case .wait(let due):
                    path.status = .waiting
                    path.dueAt = due
                    break steps
                case .next(let next, let branch):
                    complete(step, branch: branch, next: next, path: &path, execution: execution, effects: &effects)
                case .ended:
                    path.status = .done
                    effects.endedAt = step.id
                }
            } else {
                // A wait ended: its time came, or an awaited event chose a branch.
                switch step.kind {
                case .waitForEvent(let branches, _, let timeoutNext):
                    if let chosen = path.resumeBranch, let branch = branches.first(where: { $0.name == chosen }) {
                        complete(
                            step, branch: branch.name, next: branch.next, path: &path, execution: execution,
                            effects: &effects)
                    } else {
                        complete(
                            step, branch: "timeout", next: timeoutNext, path: &path, execution: execution,
                            effects: &effects)
                    }
                case .wait(_, let next), .waitUntil(_, let next):
                    complete(step, branch: nil, next: next, path: &path, execution: execution, effects: &effects)
                default:
                    // Not a waiting step (a mapping moved the path): enter it afresh.
                    path.status = .ready
                    path.stepEnteredAt = nil
                }
            }
            if path.status == .done, effects.endedAt == nil { effects.endedAt = step.id }
        }
        // Out of steps for this advance (only a bad mapping gets here): due again at once.
        if path.status == .ready { path.dueAt = now }
        effects.paths = [path] + forks
        return effects
    }

    enum Entered {
        case wait(until: Date)
        case next(String?, branch: String?)
        case ended
    }

    private func enter(
        _ step: Step, path: inout PathState, enteredAt: Date, execution: String, forks: inout [PathState],
        effects: inout StepEffects
    ) -> Entered {
        switch step.kind {
        case .wait(let seconds, let next):
            let due = enteredAt.addingTimeInterval(seconds)
            return due > now ? .wait(until: due) : .next(next, branch: nil)
        case .waitUntil(let wait, let next):
            guard let due = WaitSchedule.due(wait, enteredAt: enteredAt, traits: profile.traits), due > now else {
                return .next(next, branch: nil)
            }
            return .wait(until: due)
        case .waitForEvent(_, let timeout, _):
            return .wait(until: enteredAt.addingTimeInterval(timeout))
        case .split(let condition, let trueNext, let falseNext):
            let holds = context.holds(condition)
            return .next(holds ? trueNext : falseNext, branch: holds ? "true" : "false")
        case .multiSplit(let all, let branches, let otherwise):
            let matching =
                all
                ? branches.filter { context.holds($0.condition) }
                : Array(branches.first { context.holds($0.condition) }.map { [$0] } ?? [])
            guard let first = matching.first else { return .next(otherwise, branch: "otherwise") }
            // Every further matching branch continues on a path of its own.
            for branch in matching.dropFirst() {
                effects.events.append(
                    event(
                        JourneyEvent.Name.branchTaken, step: step, scope: execution + "#" + branch.name,
                        branch: branch.name))
                if let next = branch.next {
                    forks.append(
                        PathState(pathId: "\(path.pathId).\(step.id).\(branch.name)", stepId: next, status: .ready))
                }
            }
            return .next(first.next, branch: first.name)
        case .randomSplit(let branches):
            let bucket = ExecutionIds.bucket(
                journeyId: journey.journeyId, stepId: step.id, profileId: instance.profileId)
            var upper = 0.0
            var chosen = branches[branches.count - 1]
            for branch in branches {
                upper += branch.percent
                if bucket < upper {
                    chosen = branch
                    break
                }
            }
            if chosen.holdout {
                effects.events.append(
                    event(
                        JourneyEvent.Name.branchTaken, step: step, scope: execution, branch: chosen.name,
                        reason: "holdout"))
                effects.counts.append((step.id, "completed"))
                effects.events.append(
                    event(JourneyEvent.Name.stepCompleted, step: step, scope: execution, branch: chosen.name))
                return .ended
            }
            return .next(chosen.next, branch: chosen.name)
        case .send(let action, let next):
            var request = MessageRequest(
                id: ExecutionIds.message(stepExecution: execution), spaceId: journey.spaceId,
                profileId: instance.profileId,
                channel: action.channel, templateId: action.templateId, templateVersion: action.templateVersion,
                purpose: action.purpose, group: action.group, journeyId: journey.journeyId, journeyStepId: step.id,
                occurredAt: now)
            request.test = false
            effects.sends.append(.init(request: request, stepId: step.id, goal: action.goal))
            return .next(next, branch: nil)
        case .destination(.topic(let topic), let next):
            effects.records.append(
                OutboxMessage(
                    topic: topic, key: instance.profileId,
                    payload: JSONValue.object(contextPayload(step: step, execution: execution)).json,
                    headers: [Header.spaceId: journey.spaceId, Header.contract: "journey-context/1"]))
            return .next(next, branch: nil)
        case .setTraits(let traits, let next):
            if let record = traitWrite(traits, execution: execution) { effects.records.append(record) }
            return .next(next, branch: nil)
        case .exit:
            effects.exitReason = "exit_step"
            effects.counts.append((step.id, "completed"))
            effects.events.append(event(JourneyEvent.Name.stepCompleted, step: step, scope: execution))
            return .ended
        }
    }

    private func complete(
        _ step: Step, branch: String?, next: String?, path: inout PathState, execution: String,
        effects: inout StepEffects
    ) {
        if let branch {
            effects.events.append(event(JourneyEvent.Name.branchTaken, step: step, scope: execution, branch: branch))
        }
        effects.events.append(event(JourneyEvent.Name.stepCompleted, step: step, scope: execution, branch: branch))
        effects.counts.append((step.id, "completed"))
        path.resumeBranch = nil
        path.dueAt = nil
        path.stepEnteredAt = nil
        if let next {
            path.stepId = next
            path.status = .ready
        } else {
            path.status = .done
            effects.endedAt = step.id
        }
    }

    func event(_ name: String, step: Step?, scope: String, branch: String? = nil, reason: String? = nil) -> JourneyEvent
    {
        var event = JourneyEvent.about(
            name, scope: scope, journey: journey, instanceId: instance.id, profile: profile, at: now)
        event.stepId = step?.id
        event.stepName = step?.name
        event.stepType = step?.typeName
        event.branch = branch
        event.reason = reason
        return event
    }

    /// What a destination step sends: who, where in which journey, and what brought them in.
    func contextPayload(step: Step, execution: String) -> [String: JSONValue] {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        return [
            "type": "journey_step", "id": .string(ExecutionIds.event("destination", scope: execution)),
            "spaceId": .string(journey.spaceId), "journeyId": .string(journey.journeyId),
            "journeyName": .string(journey.name),
            "journeyVersion": .number(Double(journey.version)), "stepId": .string(step.id),
            "stepName": .string(step.name),
            "instanceId": .string(instance.id), "profileId": .string(instance.profileId),
            "userId": text(profile.userId),
            "email": text(profile.email), "phone": text(profile.phone), "traits": .object(profile.traits),
            "trigger": .object(instance.trigger), "enteredAt": .string(Timestamp.format(instance.enteredAt)),
            "occurredAt": .string(Timestamp.format(now)),
        ]
    }

    /// A set-trait step's identify through the profiles intake (nil when the profile has no id it can use).
    func traitWrite(_ traits: [String: JSONValue], execution: String) -> OutboxMessage? {
        .internalIdentify(
            spaceId: journey.spaceId, source: InternalSource.journeys,
            messageId: ExecutionIds.event("set_traits", scope: execution),
            userId: profile.userId, anonymousId: profile.anonymousId, traits: traits, at: now)
    }
}
