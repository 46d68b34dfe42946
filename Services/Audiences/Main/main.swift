import AudiencesCore
import ServiceKit

await ServiceMain.run("audiences") { try await AudiencesService.run() }
