import EngageClient
import Foundation
import Hummingbird

/// Sign in with a space access token, and sign out. The token is checked against the profiles
/// service (`GET /v1/access-token`), which also names the space it opens.
struct SignInScreen: Sendable {
    let console: Console
    /// Login CSRF: the sign-in form carries the value of this short-lived cookie back.
    static let formCookie = "engage_sign_in"

    func register(on router: Router<some RequestContext>) {
        router.get("/sign-in") { request, _ in
            if console.optionalSession(request) != nil { return console.redirect("/") }
            return form(request, problems: [], status: .ok)
        }
        router.post("/sign-in") { request, _ in try await signIn(request) }
        router.post("/sign-out") { request, _ in
            let session = try console.session(request)
            _ = try await console.form(request, session)
            var response = Response(status: .seeOther, headers: [.location: "/sign-in?reason=signed-out"])
            response.setCookie(console.clearedCookie(SessionCodec.cookieName))
            return response
        }
    }

    private func form(_ request: Request, problems: [String], status: HTTPResponse.Status, next: String? = nil)
        -> Response
    {
        let nonce = SessionKey.randomToken()
        let reason = request.uri.queryParameters.get("reason")
        let notice: String? =
            switch reason {
            case "expired": "Your session ended. Sign in again to continue."
            case "token": "The access token of your session no longer opens its space. Sign in with a valid token."
            case "signed-out": "You are signed out."
            default: nil
            }
        var values: [String: Any] = [
            "formToken": nonce, "next": next ?? request.uri.queryParameters.get("next") ?? "/",
        ]
        if let notice { values["reasonNotice"] = notice }
        var response = console.page(
            "sign-in", title: "Sign in", section: nil, session: nil, request: request, values: values, status: status,
            problems: problems)
        response.setCookie(
            Cookie(
                name: Self.formCookie, value: nonce, maxAge: 3600, path: "/sign-in",
                secure: console.config.secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    private func signIn(_ request: Request) async throws -> Response {
        let fields = try await Console.fields(request)
        let next = Console.localPath(fields["next"] ?? "/")
        let expected = request.cookies[Self.formCookie]?.value ?? ""
        do {
            try CSRFCheck.verify(request, presented: fields.raw("_form"), expected: expected)
        } catch {
            return form(
                request, problems: ["The sign-in form expired. Enter your token again."], status: .forbidden,
                next: next)
        }
        guard let token = fields["token"] else {
            return form(request, problems: ["Enter a space access token."], status: .unprocessableContent, next: next)
        }
        let answer: EngageResponse
        do {
            answer = try await console.upstream.call(.profiles, .GET, "/v1/access-token", token: token)
        } catch EngageFailure.unauthorized {
            return form(
                request,
                problems: [
                    "That access token does not open any space. Check that it was copied whole; an operator creates tokens with the admin API."
                ], status: .unprocessableContent, next: next)
        }
        guard answer.ok, let spaceId = answer.dataObject["spaceId"] as? String else {
            return form(request, problems: answer.problems, status: .badGateway, next: next)
        }
        let session = ConsoleSession(
            spaceId: spaceId, spaceName: answer.dataObject["spaceName"] as? String ?? spaceId,
            tokenName: answer.dataObject["tokenName"] as? String ?? "",
            tokenId: answer.dataObject["tokenId"] as? String ?? "", token: token, issuedAt: Date())
        var response = console.redirect(next)
        response.setCookie(try console.sessionCookie(session))
        response.setCookie(
            Cookie(
                name: Self.formCookie, value: "", maxAge: 0, path: "/sign-in", secure: console.config.secureCookies,
                httpOnly: true, sameSite: .strict))
        return response
    }
}
