using System.Net;
using Microsoft.Extensions.Options;

namespace SparkControl.Web.Security;

/// <summary>The <c>Security</c> settings section.</summary>
public sealed class SecurityOptions
{
    public const string Section = "Security";

    /// <summary>
    /// A trusted lab's switch: no sign-in anywhere, every caller acts as admin (logged as a warning on every start). Off by
    /// default; without it the panel asks who is there once a real Spark is configured or it listens beyond loopback.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>Sign-in even where the panel would be open (the demo on loopback): to try the access control, or a shared machine.</summary>
    public bool RequireSignIn { get; set; }

    /// <summary>Host names (besides those of the listen address) that requests may carry in <c>Host</c>, e.g. <c>spark-panel.lan</c>.</summary>
    public string[] AllowedHosts { get; set; } = [];

    /// <summary>
    /// Reverse proxies (IP addresses) whose <c>X-Forwarded-For/-Proto/-Host</c> are believed: a TLS proxy in front of the
    /// panel. From anyone else those headers are ignored.
    /// </summary>
    public string[] KnownProxies { get; set; } = [];

    /// <summary>Networks (CIDR, e.g. <c>10.0.0.0/24</c>) whose callers may read <c>/metrics</c> without a key.</summary>
    public string[] MetricsNetworks { get; set; } = [];
}

public sealed class SecurityOptionsValidator : IValidateOptions<SecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        var errors = new List<string>();
        if (options.AllowAnonymous && options.RequireSignIn)
        {
            errors.Add($"{SecurityOptions.Section}:AllowAnonymous and {SecurityOptions.Section}:RequireSignIn contradict each other: set one");
        }

        for (var i = 0; i < options.AllowedHosts.Length; i++)
        {
            var host = options.AllowedHosts[i];
            if (host is "*" || Core.Validation.Validators.Host(host, "host") is not null && !IPAddress.TryParse(host.Trim('[', ']'), out _))
            {
                errors.Add($"{SecurityOptions.Section}:AllowedHosts:{i} '{Core.Validation.Validators.Printable(host)}' must be a host name or an IP address (no '*': name the hosts)");
            }
        }

        for (var i = 0; i < options.KnownProxies.Length; i++)
        {
            if (!IPAddress.TryParse(options.KnownProxies[i], out _))
            {
                errors.Add($"{SecurityOptions.Section}:KnownProxies:{i} '{Core.Validation.Validators.Printable(options.KnownProxies[i])}' must be an IP address");
            }
        }

        for (var i = 0; i < options.MetricsNetworks.Length; i++)
        {
            if (!IPNetwork.TryParse(options.MetricsNetworks[i], out _))
            {
                errors.Add($"{SecurityOptions.Section}:MetricsNetworks:{i} '{Core.Validation.Validators.Printable(options.MetricsNetworks[i])}' must be a network in CIDR form, e.g. 10.0.0.0/24");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
