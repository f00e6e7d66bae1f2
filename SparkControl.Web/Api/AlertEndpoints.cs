using Microsoft.AspNetCore.Http.HttpResults;
using SparkControl.Core.Operations;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;
using static SparkControl.Web.Model.AlertInput;

namespace SparkControl.Web.Api;

/// <summary>
/// Alert webhooks (admin only: their addresses are secrets). <c>GET /api/alerts</c> lists them with the host each
/// address points at, never the address; <c>POST</c> adds one, <c>PUT /{name}</c> changes it (the address only when
/// sent), <c>DELETE /{name}</c> removes it, <c>POST /{name}/test</c> sends a test alert and answers how it went.
/// </summary>
public static class AlertEndpoints
{
    public static IEndpointRouteBuilder MapAlerts(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/alerts").WithTags("Alerts").ValidateRouteValues(("name", v => Validators.Name(v, "name")));
        group.MapGet("/", List).RequireAuthorization(AccessPolicies.Admin);
        group.MapPost("/", Add).RequireAuthorization(AccessPolicies.Admin);
        group.MapPut("/{name}", Update).RequireAuthorization(AccessPolicies.Admin);
        group.MapDelete("/{name}", Remove).RequireAuthorization(AccessPolicies.Admin);
        group.MapPost("/{name}/test", Test).RequireAuthorization(AccessPolicies.Admin);
        return endpoints;
    }

    public static Ok<AlertsView> List(AlertWebhooks webhooks, AlertDelivery delivery) =>
        TypedResults.Ok(new AlertsView([.. webhooks.List().Select(t => View(t, webhooks, delivery))], [.. delivery.Recent]));

    public static async Task<Created<AlertView>> Add(AlertBody body, AlertWebhooks webhooks, AlertDelivery delivery, CancellationToken cancellationToken)
    {
        var saved = await webhooks.AddAsync(ToTarget(body, body.Name), body.Url, cancellationToken);
        return TypedResults.Created($"/api/alerts/{saved.Name}", View(saved, webhooks, delivery));
    }

    public static async Task<Ok<AlertView>> Update(string name, AlertBody body, AlertWebhooks webhooks, AlertDelivery delivery, CancellationToken cancellationToken)
    {
        if (body.Name is { } renamed && !string.Equals(renamed, name, StringComparison.OrdinalIgnoreCase))
        {
            throw new ValidationFailedException([new FieldError("name", $"a webhook cannot be renamed ('{name}' to another name): add a new one and remove this one")]);
        }

        var saved = await webhooks.UpdateAsync(name, ToTarget(body, name), body.Url, cancellationToken);
        return TypedResults.Ok(View(saved, webhooks, delivery));
    }

    public static async Task<NoContent> Remove(string name, AlertWebhooks webhooks, CancellationToken cancellationToken)
    {
        await webhooks.RemoveAsync(name, cancellationToken);
        return TypedResults.NoContent();
    }

    public static async Task<Ok<AlertDeliveryRecord>> Test(string name, AlertWebhooks webhooks, CancellationToken cancellationToken) =>
        TypedResults.Ok(await webhooks.TestAsync(name, cancellationToken));
}
