using Microsoft.AspNetCore.Http.HttpResults;
using SparkControl.Core.Secrets;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>Secrets are write-only: <c>PUT /api/secrets/{name}</c> sets one, <c>GET /api/secrets</c> says which are set, never their values.</summary>
public static class SecretsEndpoints
{
    public sealed record SecretBody(string? Value);

    public static IEndpointRouteBuilder MapSecrets(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/secrets").WithTags("Secrets").ValidateRouteValues(("name", SecretStore.ValidateName));
        group.MapGet("/", (SecretStore secrets) => TypedResults.Ok(secrets.List())).RequireAuthorization(AccessPolicies.Admin);
        group.MapPut("/{name}", Set).RequireAuthorization(AccessPolicies.Admin);
        group.MapDelete("/{name}", Remove).RequireAuthorization(AccessPolicies.Admin);
        return endpoints;
    }

    public static async Task<NoContent> Set(string name, SecretBody body, SecretStore secrets, CancellationToken cancellationToken)
    {
        var errors = new List<FieldError>();
        if (SecretStore.ValidateName(name) is { } nameError)
        {
            errors.Add(new FieldError("name", nameError));
        }

        if (SecretStore.ValidateValue(body.Value) is { } valueError)
        {
            errors.Add(new FieldError("value", valueError));
        }

        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        await secrets.SetAsync(name, body.Value!, cancellationToken);
        return TypedResults.NoContent();
    }

    public static async Task<NoContent> Remove(string name, SecretStore secrets, CancellationToken cancellationToken)
    {
        if (SecretStore.ValidateName(name) is { } nameError)
        {
            throw new ValidationFailedException([new FieldError("name", nameError)]);
        }

        await secrets.RemoveAsync(name, cancellationToken);
        return TypedResults.NoContent();
    }
}
