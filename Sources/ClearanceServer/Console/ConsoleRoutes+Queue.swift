import Foundation
import Hummingbird
import ClearanceDomain
import ClearanceStore

extension ConsoleRoutes {
    /// Sessions in review, oldest first, with filters and an overdue marker.
    @Sendable func queuePage(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let viewer = try viewer(request, context)
        try context.require(.readSessions)
        let query = request.uri.queryParameters
        let workflowID = query.get("workflow").flatMap { $0.isEmpty ? nil : $0 }
        let country = query.get("country").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.flatMap { $0.isEmpty ? nil : $0 }
        let assigneeText = query.get("assignee") ?? "anyone"
        let assignee: ReviewAssigneeFilter
        switch assigneeText {
        case "me": assignee = .user(viewer.userID)
        case "unassigned": assignee = .unassigned
        default: assignee = .anyone
        }
        let pageSize = 50
        let pageNumber = max(1, query.get("page").flatMap(Int.init) ?? 1)
        let (total, items) = try await queue.queue(
            ReviewQueueFilter(
                environment: viewer.principal.environment, workflowID: workflowID, country: country, assignee: assignee,
                limit: pageSize, offset: (pageNumber - 1) * pageSize))
        let (_, workflows) = try await store.workflows.list(limit: 100, offset: 0)
        let names = Dictionary(workflows.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let now = clock.now()
        let back = request.uri.description
        let rows: [[String: Any]] = items.map { item in
            let waiting = now.timeIntervalSince(item.inReviewSince)
            var row: [String: Any] = [
                "id": item.sessionID, "number": item.sessionNumber, "vendor_data": item.vendorData ?? "—",
                "workflow": "\(names[item.workflowID] ?? "workflow") v\(item.workflowVersion)",
                "country": item.country ?? "—", "warnings": item.warningsCount, "has_warnings": item.warningsCount > 0,
                "age": ConsoleFormat.age(waiting), "since": ConsoleFormat.time(item.inReviewSince),
                "overdue": waiting > reviewSLA, "back": back,
            ]
            if let email = item.assigneeEmail {
                row["assignee"] = email
                row["mine"] = item.assigneeID == viewer.userID
            }
            return row
        }
        let workflowOptions: [[String: Any]] = workflows.map {
            ["id": $0.id, "name": $0.name, "selected": $0.id == workflowID]
        }
        var values: [String: Any] = [
            "rows": rows, "total": total, "empty": rows.isEmpty, "workflows": workflowOptions, "country": country ?? "",
            "assignee_anyone": assignee == .anyone, "assignee_me": assigneeText == "me",
            "assignee_unassigned": assignee == .unassigned, "sla_hours": Self.hours(reviewSLA),
            "overdue_count": rows.filter { $0["overdue"] as? Bool == true }.count,
        ]
        values["has_overdue"] = (values["overdue_count"] as? Int ?? 0) > 0
        var filterQuery = URLComponents()
        filterQuery.queryItems = [
            URLQueryItem(name: "workflow", value: workflowID ?? ""), URLQueryItem(name: "country", value: country ?? ""),
            URLQueryItem(name: "assignee", value: assigneeText),
        ]
        let base = "/console/queue?\(filterQuery.percentEncodedQuery ?? "")"
        if pageNumber > 1 { values["previous"] = "\(base)&page=\(pageNumber - 1)" }
        if pageNumber * pageSize < total { values["next"] = "\(base)&page=\(pageNumber + 1)" }
        values["page"] = pageNumber
        return renderer.page("queue", title: "Review queue", viewer: viewer, active: "queue", values)
    }

    /// The SLA as people say it: "24 h", "1.5 h", "30 min", "4 s".
    static func hours(_ interval: TimeInterval) -> String {
        if interval < 60 { return "\(Int(interval.rounded())) s" }
        if interval < 3600 { return "\(Int((interval / 60).rounded())) min" }
        let hours = interval / 3600
        return hours == hours.rounded() ? "\(Int(hours)) h" : String(format: "%.1f h", hours)
    }

    /// "Assign to me" (`to=me`) or release (`to=nobody`).
    @Sendable func assign(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        var request = request
        let principal = try context.require(.writeSessions)
        let id = try SessionRoutes.sessionID(context)
        let form = try await ConsoleHTTP.readForm(&request, context: context)
        let toSelf = form["to"] != "nobody"
        guard try await review.assign(sessionID: id, toSelf: toSelf, principal: principal, requestID: context.requestID, now: clock.now())
        else { throw APIError.notFound("No session with this id in this environment.") }
        let back = form["back"].map { ConsoleHTTP.safeNext($0) } ?? "/console/sessions/\(id)"
        return ConsoleHTTP.redirect(back.hasPrefix("/console/queue") ? back : "/console/sessions/\(id)?notice=\(toSelf ? "assigned" : "unassigned")")
    }
}
