using System.Globalization;
using System.Text;
using SparkControl.Core.Audit;

namespace SparkControl.Web.Security;

/// <summary>Marks an API endpoint whose POST computes an answer and changes nothing (label-merge, a swap's preview).</summary>
public sealed class NotAudited
{
    public static readonly NotAudited Instance = new();
}

/// <summary>
/// Every state-changing <c>/api</c> request in the audit log: who (user or key), from which address, the method and
/// route, and how it ended (the status code). The actions themselves add their own entries where they have more to say.
/// </summary>
public sealed class ApiAudit(RequestDelegate next, AuditLog audit)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!request.Path.StartsWithSegments("/api") || HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method)
            || context.GetEndpoint()?.Metadata.GetMetadata<NotAudited>() is not null)
        {
            await next(context);
            return;
        }

        int? thrown = null;
        try
        {
            await next(context);
        }
        catch (Exception ex)
        {
            // The API's exception handler, further out, answers with the status the exception stands for: record that.
            thrown = Api.ApiExceptionHandler.Describe(ex)?.Status ?? StatusCodes.Status500InternalServerError;
            throw;
        }
        finally
        {
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
            var status = thrown ?? context.Response.StatusCode;
            audit.Record(AccessPolicies.AuditActorOf(context), $"api {request.Method} {route}", Core.Validation.Validators.Escaped(request.Path.Value ?? string.Empty),
                $"{status.ToString(CultureInfo.InvariantCulture)} {Outcome(status)}");
        }
    }

    private static string Outcome(int status) => status switch
    {
        < 300 => "done",
        401 or 403 => "refused: not allowed",
        < 500 => "refused",
        _ => "failed",
    };

    /// <summary>The entries as CSV; a cell that a spreadsheet would run as a formula is quoted as text.</summary>
    public static string ToCsv(IEnumerable<AuditEntry> entries)
    {
        var csv = new StringBuilder("at,actor,address,action,target,detail\n");
        foreach (var e in entries)
        {
            csv.AppendJoin(',', new[] { e.At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), e.Actor, e.Address ?? string.Empty, e.Action, e.Target, e.Detail ?? string.Empty }.Select(Cell)).Append('\n');
        }

        return csv.ToString();
    }

    private static string Cell(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
    }
}

public static class AuditEndpoints
{
    public static IEndpointRouteBuilder MapAudit(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/audit", (string? actor, string? action, string? target, DateTimeOffset? since, DateTimeOffset? until, int? limit, string? format, AuditLog audit) =>
        {
            var entries = audit.Find(new AuditQuery { Actor = actor, Action = action, Target = target, Since = since, Until = until, Limit = limit ?? 500 });
            return format == "csv"
                ? Results.File(Encoding.UTF8.GetBytes(ApiAudit.ToCsv(entries)), "text/csv; charset=utf-8", "spark-control-audit.csv")
                : Results.Ok(entries);
        }).WithTags("Audit").RequireAuthorization(AccessPolicies.Viewer);
        return endpoints;
    }
}
