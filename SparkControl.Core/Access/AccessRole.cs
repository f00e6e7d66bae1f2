namespace SparkControl.Core.Access;

/// <summary>What a user or key may do; each role includes the ones below it.</summary>
public enum AccessRole
{
    /// <summary>Reads everything but secrets.</summary>
    Viewer = 1,

    /// <summary>Swaps, unloads, starts, stops and restarts services, sets memory caps, reads logs, uses the audio tools.</summary>
    Operator = 2,

    /// <summary>Sparks, host keys, secrets, SSH keys, service definitions, users, API keys, host actions and settings.</summary>
    Admin = 3,
}

public static class AccessRoles
{
    public static readonly IReadOnlyList<AccessRole> All = [AccessRole.Viewer, AccessRole.Operator, AccessRole.Admin];

    public static string Name(this AccessRole role) => role switch
    {
        AccessRole.Viewer => "viewer",
        AccessRole.Operator => "operator",
        AccessRole.Admin => "admin",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };

    public static AccessRole? Parse(string? text) => text switch
    {
        "viewer" => AccessRole.Viewer,
        "operator" => AccessRole.Operator,
        "admin" => AccessRole.Admin,
        _ => null,
    };

    /// <summary>The field error for a role as typed, or null when it is one of the three.</summary>
    public static string? Validate(string? text, string field = "role") =>
        Parse(text) is null ? $"{field} must be viewer, operator or admin" : null;
}
