<#
.SYNOPSIS
    Set up the workbook on Windows (an Azure VM, most often): the Windows twin of scripts/setup.sh.

.DESCRIPTION
    A virtual environment .venv with the project installed editable (lib and emulator import without any
    sys.path edits) and the notebook tools; quiet, with the installers' output in .venv\setup.log; skipped when
    neither this script nor pyproject.toml changed since the last successful run. Then it checks that the
    Microsoft ODBC Driver 18 for SQL Server is registered (pyodbc on Windows needs the registered driver; notebook
    04 uses it) and installs it with winget where winget exists.

    -Start then opens JupyterLab on 127.0.0.1 (port 8888 unless -Port), target "azure", at notebooks/index.ipynb:
    reach it from your own machine through an SSH tunnel (README, "On a real Azure VM").

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File scripts\setup.ps1
    powershell -ExecutionPolicy Bypass -File scripts\setup.ps1 -Start -Port 8888
#>
[CmdletBinding()]
param(
    [switch] $Start,
    [int] $Port = 8888,
    [string] $Python = ""
)
# Not "Stop": Windows PowerShell 5.1 turns a native program's stderr into errors when it is redirected (pip writes
# warnings there); every step checks $LASTEXITCODE instead.
$ErrorActionPreference = "Continue"
Set-Location (Split-Path -Parent $PSScriptRoot)

$Venv = ".venv"
$VenvPython = Join-Path $Venv "Scripts\python.exe"
$Stamp = Join-Path $Venv ".setup-stamp"
$Log = Join-Path $Venv "setup.log"
$OdbcDriver = "ODBC Driver 18 for SQL Server"

function Get-SetupStamp {
    # What the set-up depends on: this script and the project's requirements.
    $bytes = [System.IO.File]::ReadAllBytes((Resolve-Path "scripts\setup.ps1")) +
             [System.IO.File]::ReadAllBytes((Resolve-Path "pyproject.toml"))
    $sha = [System.Security.Cryptography.SHA256]::Create()
    return ([System.BitConverter]::ToString($sha.ComputeHash($bytes))).Replace("-", "").ToLowerInvariant()
}

function Find-Python {
    if ($Python) { return $Python }
    foreach ($candidate in @("py -3", "python")) {
        $exe, $arguments = $candidate.Split(" ", 2)
        if (Get-Command $exe -ErrorAction SilentlyContinue) {
            $version = & $exe @($arguments | Where-Object { $_ }) -c "import sys; print(sys.version_info >= (3, 10))" 2>$null
            if ($version -eq "True") { return $candidate }
        }
    }
    throw "Python 3.10 or later is needed: install it from https://www.python.org/downloads/windows/ " +
          "(tick 'Add python.exe to PATH'), then run this script again."
}

# --- Python packages -----------------------------------------------------------------------------------------
$upToDate = (Test-Path $VenvPython) -and (Test-Path $Stamp) -and ((Get-Content $Stamp -Raw).Trim() -eq (Get-SetupStamp))
if ($upToDate) {
    Write-Host "Set-up: up to date ($Venv)."
} else {
    if (-not (Test-Path $VenvPython)) {
        $exe, $arguments = (Find-Python).Split(" ", 2)
        Write-Host "Set-up: creating the virtual environment $Venv ..."
        & $exe @($arguments | Where-Object { $_ }) -m venv $Venv
        if ($LASTEXITCODE -ne 0) { Write-Host "Creating $Venv failed." -ForegroundColor Red; exit 1 }
    }
    Write-Host "Set-up: installing Python packages into $Venv (the first time takes a few minutes; log: $Log) ..."
    & $VenvPython -m pip install --upgrade pip *> $Log
    & $VenvPython -m pip install -e ".[notebooks]" *>> $Log
    if ($LASTEXITCODE -ne 0) {
        Write-Host "Set-up failed; the end of ${Log}:" -ForegroundColor Red
        Get-Content $Log -Tail 30
        exit 1
    }
    Get-SetupStamp | Set-Content $Stamp
    Write-Host "Set-up: done ($Venv)."
}

# --- Microsoft ODBC Driver 18 for SQL Server ----------------------------------------------------------------
$registered = Get-OdbcDriver -Name $OdbcDriver -Platform "64-bit" -ErrorAction SilentlyContinue
if ($registered) {
    Write-Host "Set-up: '$OdbcDriver' is installed."
} elseif (Get-Command winget -ErrorAction SilentlyContinue) {
    Write-Host "Set-up: installing '$OdbcDriver' (winget) ..."
    winget install --id Microsoft.msodbcsql.18 -e --silent --accept-package-agreements --accept-source-agreements *>> $Log
    if ($LASTEXITCODE -ne 0) { Write-Host "winget could not install it; see $Log." -ForegroundColor Yellow }
} else {
    Write-Host ("Set-up: '$OdbcDriver' is not installed and there is no winget here. Notebook 04 needs it for " +
                "pyodbc: download it from https://aka.ms/downloadmsodbcsql and run the installer " +
                "(msiexec /i msodbcsql.msi IACCEPTMSODBCSQLLICENSETERMS=YES). mssql-python works without it.") `
        -ForegroundColor Yellow
}

# --- JupyterLab -------------------------------------------------------------------------------------------------
if ($Start) {
    $env:WORKBOOK_TARGET = "azure"
    $token = & $VenvPython -c "import secrets; print(secrets.token_urlsafe(24))"
    $url = "http://127.0.0.1:$Port/lab/tree/notebooks/index.ipynb?token=$token"
    Write-Host ""
    Write-Host "  Managed Identity Workbook - JupyterLab (target: azure)"
    Write-Host "  Open:  $url"
    Write-Host "  From your own machine: ssh -N -L ${Port}:127.0.0.1:$Port <user>@<this VM>, then the URL above."
    Write-Host "  Stop with Ctrl+C. JupyterLab's own log: $Venv\jupyterlab.log"
    Write-Host ""
    $env:JUPYTER_TOKEN = $token
    # Trust the workbook's own notebooks: JupyterLab then renders their saved widget state on first open.
    & (Join-Path $Venv "Scripts\jupyter.exe") trust (Get-ChildItem notebooks\*.ipynb).FullName *> $null
    & (Join-Path $Venv "Scripts\jupyter.exe") lab --ip=127.0.0.1 --port=$Port --ServerApp.port_retries=0 `
        --notebook-dir=. --no-browser "--LabApp.default_url=/lab/tree/notebooks/index.ipynb" *> (Join-Path $Venv "jupyterlab.log")
}
