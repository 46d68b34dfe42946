import AudiencesCore

try await AudiencesService.run()
