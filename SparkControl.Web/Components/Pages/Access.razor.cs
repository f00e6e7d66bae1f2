using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Access;
using SparkControl.Core.Validation;
using SparkControl.Web.Components.Dialogs;
using SparkControl.Web.Security;

namespace SparkControl.Web.Components.Pages;

public partial class Access
{
    private IReadOnlyList<PanelUser> _users = [];
    private IReadOnlyList<ApiKeyInfo> _keys = [];
    private int _userFormGeneration;
    private int _keyFormGeneration;
    private string? _newName;
    private string? _newPassword;
    private AccessRole _newRole = AccessRole.Viewer;
    private string? _keyName;
    private string _keyKind = "api";
    private AccessRole _keyRole = AccessRole.Viewer;
    private CreatedApiKey? _created;

    [Inject]
    public required UserDirectory Users { get; init; }

    [Inject]
    public required ApiKeyRegistry Keys { get; init; }

    [Inject]
    public required AccessMode Mode { get; init; }

    [Inject]
    public required Caller Caller { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    protected override void OnInitialized() => Reload();

    private void Reload()
    {
        _users = Users.List();
        _keys = Keys.List();
    }

    /// <summary>Runs an admin's change: the role is checked again here, failures are said in a snackbar, the tables reload.</summary>
    private bool Run(Action change, string? done = null)
    {
        try
        {
            Caller.Demand(AccessRole.Admin);
            change();
            if (done is not null)
            {
                Snackbar.Add(done, Severity.Success);
            }

            return true;
        }
        catch (Exception ex) when (ex is AccessRefusedException or ValidationFailedException or KeyNotFoundException)
        {
            Snackbar.Add(ex is ValidationFailedException failed ? string.Join(" ", failed.Errors.Select(e => e.Message)) : ex.Message, Severity.Error);
            return false;
        }
        finally
        {
            Reload();
        }
    }

    private void AddUser()
    {
        var name = _newName!;
        if (Run(() => Users.Create(name, _newPassword!, _newRole), $"Added {name} ({_newRole.Name()})."))
        {
            Caller.Audit("access.user-add", name, $"role {_newRole.Name()} from the Access page");
            _newName = null;
            _newPassword = null;
            _userFormGeneration++;
        }
    }

    private void ChangeRole(PanelUser user, AccessRole role)
    {
        if (Run(() => Users.Update(user.Name, role: role), $"{user.Name} is {role.Name()} now."))
        {
            Caller.Audit("access.user-change", user.Name, $"role {role.Name()} from the Access page");
        }
    }

    private async Task ToggleDisabledAsync(PanelUser user)
    {
        var disable = !user.Disabled;
        if (disable && !await ConfirmDialog.AskAsync(Dialogs, $"Disable {user.Name}?", $"{user.Name} is signed out at once, in every open tab, and cannot sign in until enabled again.", "Disable", Color.Error))
        {
            return;
        }

        if (Run(() => Users.Update(user.Name, disabled: disable), $"{user.Name} is {(disable ? "disabled" : "enabled")}."))
        {
            Caller.Audit("access.user-change", user.Name, $"{(disable ? "disabled" : "enabled")} from the Access page");
        }
    }

    private async Task ResetPasswordAsync(PanelUser user)
    {
        var password = await PasswordDialog.AskAsync(Dialogs, $"New password for {user.Name}");
        if (password is not null && Run(() => Users.Update(user.Name, password: password), $"{user.Name}'s password is reset (and any lockout lifted)."))
        {
            Caller.Audit("access.user-change", user.Name, "password reset from the Access page");
        }
    }

    private void CreateKey()
    {
        var kind = _keyKind == "gateway" ? ApiKeyKind.Gateway : ApiKeyKind.Api;
        CreatedApiKey? created = null;
        if (Run(() => created = Keys.Create(_keyName!, kind, kind == ApiKeyKind.Api ? _keyRole : null, Caller.Actor)))
        {
            _created = created;
            Caller.Audit("access.key-add", created!.Info.Name, $"{_keyKind} key {created.Info.Id} from the Access page");
            _keyName = null;
            _keyFormGeneration++;
        }
    }

    private async Task RevokeAsync(ApiKeyInfo key)
    {
        if (!await ConfirmDialog.AskAsync(Dialogs, $"Revoke {key.Name}?", "Programs that use it are refused from their next request. This cannot be undone.", "Revoke", Color.Error))
        {
            return;
        }

        if (Run(() => Keys.Revoke(key.Id), $"{key.Name} is revoked."))
        {
            Caller.Audit("access.key-revoke", key.Name, $"key {key.Id} from the Access page");
        }
    }
}
