using System.Globalization;
using SparkControl.Core.Access;
using SparkControl.Core.Audit;
using SparkControl.Core.Validation;
using SparkControl.Web.Api;

namespace SparkControl.Web.Security;

/// <summary><c>/api/me</c> for anyone signed in; users and API keys for admins.</summary>
public static class AccessEndpoints
{
    public sealed record MeView(string Name, string Role, string Via, bool SignInRequired);

    public sealed record UserView(string Name, string Role, bool Disabled, DateTimeOffset CreatedAt, DateTimeOffset? LastSignInAt, DateTimeOffset? LockedUntil);

    public sealed record NewUserBody(string? Name, string? Password, string? Role);

    public sealed record UserChangeBody(string? Role, bool? Disabled, string? Password);

    public sealed record KeyView(long Id, string Name, string Kind, string? Role, string Prefix, DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

    public sealed record NewKeyBody(string? Name, string? Kind, string? Role);

    public sealed record CreatedKeyView(string Key, KeyView Info);

    public static IEndpointRouteBuilder MapAccess(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/me", (HttpContext context, AccessMode mode) => TypedResults.Ok(new MeView(
            context.User.Identity?.Name ?? "anonymous",
            AccessPolicies.RoleOf(context.User)?.Name() ?? "none",
            context.User.FindFirst(AccessPolicies.ViaClaim)?.Value ?? "none",
            mode.SignInRequired))).WithTags("Access").RequireAuthorization(AccessPolicies.Viewer);

        var users = endpoints.MapGroup("/api/users").WithTags("Access").RequireAuthorization(AccessPolicies.Admin)
            .ValidateRouteValues(("name", v => Validators.Name(v, "name")));
        users.MapGet("/", (UserDirectory directory) => TypedResults.Ok(directory.List().Select(View).ToArray()));
        users.MapPost("/", AddUser);
        users.MapPatch("/{name}", ChangeUser);

        var keys = endpoints.MapGroup("/api/keys").WithTags("Access").RequireAuthorization(AccessPolicies.Admin);
        keys.MapGet("/", (ApiKeyRegistry registry) => TypedResults.Ok(registry.List().Select(View).ToArray()));
        keys.MapPost("/", AddKey);
        keys.MapDelete("/{id:long}", (long id, HttpContext context, ApiKeyRegistry registry, AuditLog audit) =>
        {
            var revoked = registry.Revoke(id);
            audit.Record(AccessPolicies.AuditActorOf(context), "access.key-revoke", revoked.Name, $"key {id}");
            return TypedResults.Ok(View(revoked));
        });
        return endpoints;
    }

    public static UserView View(PanelUser user) => new(user.Name, user.Role.Name(), user.Disabled, user.CreatedAt, user.LastSignInAt, user.LockedUntil);

    public static KeyView View(ApiKeyInfo key) => new(key.Id, key.Name, key.Kind == ApiKeyKind.Gateway ? "gateway" : "api", key.Role?.Name(), key.Prefix, key.CreatedAt, key.CreatedBy, key.LastUsedAt, key.RevokedAt);

    private static IResult AddUser(NewUserBody body, HttpContext context, UserDirectory directory, AuditLog audit)
    {
        if (UserDirectory.ValidateNew(body.Name, body.Password, body.Role) is { Count: > 0 } errors)
        {
            throw new ValidationFailedException(errors);
        }

        var user = directory.Create(body.Name!, body.Password!, AccessRoles.Parse(body.Role)!.Value);
        audit.Record(AccessPolicies.AuditActorOf(context), "access.user-add", user.Name, $"role {user.Role.Name()}");
        return TypedResults.Created($"/api/users/{user.Name}", View(user));
    }

    private static IResult ChangeUser(string name, UserChangeBody body, HttpContext context, UserDirectory directory, AuditLog audit)
    {
        if (body.Role is not null && AccessRoles.Validate(body.Role) is { } roleError)
        {
            throw new ValidationFailedException([new FieldError("role", roleError)]);
        }

        var user = directory.Update(name, AccessRoles.Parse(body.Role), body.Disabled, body.Password);
        var what = string.Join(", ", new[]
        {
            body.Role is null ? null : $"role {body.Role}",
            body.Disabled is null ? null : body.Disabled.Value ? "disabled" : "enabled",
            body.Password is null ? null : "password reset",
        }.OfType<string>());
        audit.Record(AccessPolicies.AuditActorOf(context), "access.user-change", name, what);
        return TypedResults.Ok(View(user));
    }

    private static IResult AddKey(NewKeyBody body, HttpContext context, ApiKeyRegistry registry, AuditLog audit)
    {
        if (ApiKeyRegistry.Validate(body.Name, body.Kind, body.Role) is { Count: > 0 } errors)
        {
            throw new ValidationFailedException(errors);
        }

        var kind = body.Kind == "gateway" ? ApiKeyKind.Gateway : ApiKeyKind.Api;
        var created = registry.Create(body.Name!, kind, AccessRoles.Parse(body.Role), AccessPolicies.ActorOf(context.User));
        audit.Record(AccessPolicies.AuditActorOf(context), "access.key-add", created.Info.Name, $"{body.Kind} key {created.Info.Id.ToString(CultureInfo.InvariantCulture)} ({created.Info.Role?.Name() ?? "client"})");
        return TypedResults.Created($"/api/keys/{created.Info.Id}", new CreatedKeyView(created.Secret, View(created.Info)));
    }
}
