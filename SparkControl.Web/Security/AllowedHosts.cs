using System.Net;
using System.Net.NetworkInformation;
using SparkControl.Core.Configuration;

namespace SparkControl.Web.Security;

/// <summary>
/// The names a request's <c>Host</c> may carry: loopback's, the listen address (and, listening on every interface, the
/// machine's name and addresses), and <c>Security:AllowedHosts</c>. Never <c>*</c>: a DNS-rebinding page reaches the panel
/// under its own name, and that name is not on the list.
/// </summary>
public static class AllowedHosts
{
    public static IReadOnlyList<string> For(IConfiguration configuration, SecurityOptions security)
    {
        var hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost", "127.0.0.1", "[::1]" };
        foreach (var address in ListenAddresses(configuration))
        {
            if (address is "*" or "+" or "0.0.0.0" or "::")
            {
                AddMachine(hosts);
            }
            else if (IPAddress.TryParse(address, out var ip))
            {
                hosts.Add(Format(ip));
            }
            else if (address.Length > 0)
            {
                hosts.Add(address);
            }
        }

        foreach (var host in security.AllowedHosts)
        {
            hosts.Add(IPAddress.TryParse(host.Trim('[', ']'), out var ip) ? Format(ip) : host);
        }

        return [.. hosts];
    }

    /// <summary>The addresses the panel is configured to listen on: <c>SparkControl:ListenAddress</c> and any <c>urls</c>.</summary>
    public static IReadOnlyList<string> ListenAddresses(IConfiguration configuration)
    {
        var listen = new List<string> { configuration[$"{SparkControlOptions.Section}:ListenAddress"] ?? "127.0.0.1" };
        listen.AddRange((configuration["urls"] ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(HostOf));
        return listen;
    }

    /// <summary>The host of a listen URL (<c>http://*:8080</c> → <c>0.0.0.0</c>, <c>http://[::1]:5080</c> → <c>::1</c>).</summary>
    public static string HostOf(string url) => ParseListenAddress(url) is { } uri ? uri.Host.Trim('[', ']') : url;

    /// <summary>A Kestrel listen address as a URI, its wildcard host (<c>*</c>, <c>+</c>) named 0.0.0.0; null if it is none.</summary>
    public static Uri? ParseListenAddress(string url) =>
        Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri) ? uri : null;

    public static bool IsLoopback(string address) => address == "localhost" || (IPAddress.TryParse(address.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    private static void AddMachine(HashSet<string> hosts)
    {
        var name = Dns.GetHostName();
        hosts.Add(name);
        hosts.Add($"{name}.local");
        try
        {
            foreach (var address in NetworkInterface.GetAllNetworkInterfaces().SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address))
            {
                hosts.Add(Format(address));
            }
        }
        catch (NetworkInformationException)
        {
            // Without the interface list the operator names the addresses in Security:AllowedHosts.
        }
    }

    private static string Format(IPAddress address) => address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
        ? $"[{new IPAddress(address.GetAddressBytes())}]"
        : address.ToString();
}
