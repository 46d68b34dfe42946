import JourneysCore
import ServiceKit

await ServiceMain.run("journeys") { try await JourneysService.run() }
