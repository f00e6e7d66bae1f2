using Microsoft.AspNetCore.Http.HttpResults;
using SparkControl.Core.Remote;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>
/// SSH private keys the Sparks log in with: <c>PUT /api/ssh-keys/{name}</c> stores one (0600, in the data directory's
/// ssh-keys/), <c>GET /api/ssh-keys</c> lists them by fingerprint (never their content), <c>DELETE</c> removes one no
/// Spark uses.
/// </summary>
public static class SshKeysEndpoints
{
    public sealed record KeyBody(string? PrivateKey);

    public sealed record KeyView(string Name, string Path, string? Type, string? Fingerprint, bool Encrypted, long Bytes, string[] UsedBy);

    public static IEndpointRouteBuilder MapSshKeys(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/ssh-keys").WithTags("SSH keys").ValidateRouteValues(("name", v => Validators.Name(v, "name")));
        group.MapGet("/", List).RequireAuthorization(AccessPolicies.Admin);
        group.MapPut("/{name}", Save).RequireAuthorization(AccessPolicies.Admin);
        group.MapDelete("/{name}", Remove).RequireAuthorization(AccessPolicies.Admin);
        return endpoints;
    }

    public static Ok<KeyView[]> List(SshKeyStore keys, SparkSettingsStore sparks) =>
        TypedResults.Ok(keys.List().Select(k => View(k, sparks)).ToArray());

    public static async Task<Ok<KeyView>> Save(string name, KeyBody body, SshKeyStore keys, SparkSettingsStore sparks, CancellationToken cancellationToken) =>
        TypedResults.Ok(View(await keys.SaveAsync(name, body.PrivateKey, cancellationToken), sparks));

    public static NoContent Remove(string name, SshKeyStore keys, SparkSettingsStore sparks)
    {
        var users = UsedBy(keys.PathOf(name), sparks);
        if (users.Length > 0)
        {
            throw new SettingsConflictException($"The SSH key '{name}' is the key of {string.Join(", ", users)}; give them another key first.");
        }

        keys.Remove(name);
        return TypedResults.NoContent();
    }

    private static KeyView View(SshKeyInfo key, SparkSettingsStore sparks) =>
        new(key.Name, key.Path, key.Type, key.Fingerprint, key.Encrypted, key.Bytes, UsedBy(key.Path, sparks));

    private static string[] UsedBy(string path, SparkSettingsStore sparks) =>
        [.. sparks.Current.Sparks.Where(s => s.KeyPath == path).Select(s => s.Name)];
}
