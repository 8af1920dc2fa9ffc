package demodata

// macrosSQL defines the temporary macros the steps share: the deterministic
// random functions and the lists and mappings more than one table needs, so a
// value computed in two statements (an item's name, a company's id) agrees.
const macrosSQL = `
-- Deterministic randomness: hash of (seed, key[, key2], salt).
CREATE TEMP MACRO dd_h(a, salt) AS hash(CAST({seed} AS BIGINT), a, salt);
CREATE TEMP MACRO dd_h2(a, b, salt) AS hash(CAST({seed} AS BIGINT), a, b, salt);
-- An integer in [0, n).
CREATE TEMP MACRO dd_pick(a, salt, n) AS CAST(dd_h(a, salt) % CAST(n AS UBIGINT) AS BIGINT);
CREATE TEMP MACRO dd_pick2(a, b, salt, n) AS CAST(dd_h2(a, b, salt) % CAST(n AS UBIGINT) AS BIGINT);
-- Basis points, 0..9999: "dd_bp(k, 's') < 1500" is true for 15% of the rows.
CREATE TEMP MACRO dd_bp(a, salt) AS dd_pick(a, salt, 10000);
CREATE TEMP MACRO dd_bp2(a, b, salt) AS dd_pick2(a, b, salt, 10000);
-- A DOUBLE in [0, 1), to shape skewed distributions (never used for money).
CREATE TEMP MACRO dd_u(a, salt) AS CAST(dd_pick(a, salt, 1000000007) AS DOUBLE) / 1000000007;
CREATE TEMP MACRO dd_u2(a, b, salt) AS CAST(dd_pick2(a, b, salt, 1000000007) AS DOUBLE) / 1000000007;
-- Money from integer cents, exactly.
CREATE TEMP MACRO dd_money(cents) AS CAST(CAST(cents AS DECIMAL(18,0)) * 0.01 AS DECIMAL(18,2));
-- A business date in 2024-01-01..2026-10-31, denser towards the end: the density
-- grows linearly from 0.1 to 1.1 (the business grows tenfold), so about 0.6% fall
-- in January 2024. Inverse of the CDF (0.1x + x^2/2) / 0.6 at u.
CREATE TEMP MACRO dd_date(a, salt) AS
    DATE '2024-01-01' + CAST(floor(1035 * (sqrt(0.01 + 1.2 * dd_u(a, salt)) - 0.1)) AS INTEGER);

-- Companies: 55% UK, 30% US, 15% Germany.
CREATE TEMP MACRO dd_company_name(bp) AS
    CASE WHEN bp < 5500 THEN 'Acme UK Ltd' WHEN bp < 8500 THEN 'Acme US Inc' ELSE 'Acme GmbH' END;
CREATE TEMP MACRO dd_company_id(name) AS
    CASE name WHEN 'Acme UK Ltd' THEN 'CMP-001' WHEN 'Acme US Inc' THEN 'CMP-002' WHEN 'Acme GmbH' THEN 'CMP-003' END;
-- A currency the company has: the UK company also trades in EUR and USD.
CREATE TEMP MACRO dd_company_currency(name, bp) AS
    CASE name WHEN 'Acme UK Ltd' THEN CASE WHEN bp < 7000 THEN 'GBP' WHEN bp < 8500 THEN 'EUR' ELSE 'USD' END
              WHEN 'Acme US Inc' THEN 'USD' WHEN 'Acme GmbH' THEN 'EUR' END;
CREATE TEMP MACRO dd_icp(name) AS
    CASE name WHEN 'Acme UK Ltd' THEN 'ICP-001' WHEN 'Acme US Inc' THEN 'ICP-002' WHEN 'Acme GmbH' THEN 'ICP-003' END;
CREATE TEMP MACRO dd_icp_currency(icp) AS
    CASE icp WHEN 'ICP-002' THEN 'USD' WHEN 'ICP-003' THEN 'EUR' ELSE 'GBP' END;
CREATE TEMP MACRO dd_period_id(company_id, d) AS
    'PER-' || right(company_id, 3) || '-' || strftime(d, '%Y-%m');

-- Customers: a few large accounts get most of the business.
CREATE TEMP MACRO dd_customer(a, salt) AS
    printf('ACC-C-%04d', 1 + CAST(floor(300 * pow(dd_u(a, salt), 1.5)) AS BIGINT));

-- Addresses of customers and suppliers.
CREATE TEMP MACRO dd_country(bp) AS
    CASE WHEN bp < 5500 THEN 'United Kingdom' WHEN bp < 8500 THEN 'United States' ELSE 'Germany' END;
CREATE TEMP MACRO dd_currency(country) AS
    CASE country WHEN 'United Kingdom' THEN 'GBP' WHEN 'United States' THEN 'USD' ELSE 'EUR' END;
CREATE TEMP MACRO dd_legal_suffix(country) AS
    CASE country WHEN 'United Kingdom' THEN 'Ltd' WHEN 'United States' THEN 'Inc' ELSE 'GmbH' END;
CREATE TEMP MACRO dd_city(country, k) AS
    CASE country
        WHEN 'United Kingdom' THEN ['London', 'Manchester', 'Birmingham', 'Leeds', 'Glasgow', 'Bristol', 'Sheffield', 'Nottingham'][1 + k % 8]
        WHEN 'United States' THEN ['Dallas', 'Chicago', 'Atlanta', 'Denver', 'Seattle', 'Boston', 'Phoenix', 'Columbus'][1 + k % 8]
        ELSE ['Hamburg', 'München', 'Berlin', 'Köln', 'Frankfurt am Main', 'Stuttgart', 'Düsseldorf', 'Leipzig'][1 + k % 8] END;
CREATE TEMP MACRO dd_state(country, k) AS
    CASE WHEN country = 'United States' THEN ['TX', 'IL', 'GA', 'CO', 'WA', 'MA', 'AZ', 'OH'][1 + k % 8] END;
CREATE TEMP MACRO dd_postal_code(country, k) AS
    CASE country
        WHEN 'United Kingdom' THEN ['EC1A 1BB', 'M1 1AE', 'B2 4QA', 'LS1 5DT', 'G1 2FF', 'BS1 6QH', 'S1 2HE', 'NG1 5FS'][1 + k % 8]
        WHEN 'United States' THEN ['75201', '60601', '30303', '80202', '98101', '02108', '85004', '43215'][1 + k % 8]
        ELSE ['20095', '80331', '10115', '50667', '60311', '70173', '40213', '04109'][1 + k % 8] END;
CREATE TEMP MACRO dd_street(country, k) AS
    CASE WHEN country = 'Germany'
         THEN ['Hauptstraße', 'Industriestraße', 'Bahnhofstraße', 'Gewerbering'][1 + k % 4] || ' ' || (1 + (k * 37) % 97)
         ELSE (1 + (k * 53) % 197) || ' ' || ['High Street', 'Station Road', 'Main Street', 'Commerce Park', 'Mill Lane', 'Market Street'][1 + k % 6] END;
CREATE TEMP MACRO dd_phone(country, k) AS
    CASE country
        WHEN 'United Kingdom' THEN printf('+44 161 %03d %04d', k % 1000, (k * 7919) % 10000)
        WHEN 'United States' THEN printf('+1 214 555 %04d', (k * 7919) % 10000)
        ELSE printf('+49 40 %07d', (k * 104729) % 10000000) END;

-- Vendors that exist in Accounting before the connector runs (1-6 linked to
-- supplier sites 1-6, 7-10 entered by hand).
CREATE TEMP MACRO dd_vendor_name(k) AS
    ['Apex Industrial Supply', 'Bluewater Logistics', 'Carrington Metals Ltd', 'Delta Components Inc',
     'Evergreen Packaging', 'Fulcrum Tools GmbH', 'Global Freight Partners', 'Harbor Electrical Wholesale',
     'Ironbridge Fasteners', 'Jupiter Office Supplies'][k];

-- The 30 stocked product groups (and their products).
CREATE TEMP MACRO dd_group_name(g) AS
    ['Fasteners', 'Bearings', 'Hydraulics', 'Pneumatics', 'Electrical Components', 'Cables & Wiring',
     'Sensors', 'Motors', 'Pumps', 'Valves', 'Filters', 'Seals & Gaskets', 'Power Tools', 'Hand Tools',
     'Safety Equipment', 'Lubricants', 'Adhesives', 'Packaging', 'Fittings', 'Hoses', 'Belts & Pulleys',
     'Gears', 'Lighting', 'Controllers', 'Enclosures', 'Welding Supplies', 'Abrasives', 'Spare Parts Kits',
     'Instruments', 'Batteries'][g];

-- Items by number: 1-1960 stocked (groups 1-30), 1961-1970 services (group 31),
-- 1971-1980 non-stock supplies (group 32), 1981-1990 legacy parts (group 39, no
-- product), 1991-2000 without a product group.
CREATE TEMP MACRO dd_item_pg(n) AS
    CASE WHEN n <= 1960 THEN 1 + dd_pick(n, 'item group', 30) WHEN n <= 1970 THEN 31
         WHEN n <= 1980 THEN 32 WHEN n <= 1990 THEN 39 END;
CREATE TEMP MACRO dd_item_name(n) AS
    CASE WHEN n <= 1960 THEN
              ['Standard', 'Heavy Duty', 'Compact', 'Industrial', 'Precision', 'Premium', 'Economy',
               'Stainless', 'Marine Grade', 'High Temp', 'Low Profile', 'Reinforced'][1 + dd_pick(n, 'item adjective', 12)]
              || ' ' ||
              ['Hex Bolt', 'Ball Bearing', 'Hydraulic Cylinder', 'Air Valve', 'Relay', 'Power Cable',
               'Proximity Sensor', 'Electric Motor', 'Centrifugal Pump', 'Gate Valve', 'Oil Filter', 'O-Ring',
               'Cordless Drill', 'Torque Wrench', 'Safety Helmet', 'Grease Cartridge', 'Epoxy Adhesive',
               'Shipping Box', 'Pipe Elbow', 'Hydraulic Hose', 'V-Belt', 'Spur Gear', 'LED Floodlight',
               'PLC Module', 'Junction Box', 'Welding Rod', 'Grinding Disc', 'Service Kit', 'Pressure Gauge',
               'Battery Pack'][dd_item_pg(n)]
              || ' ' || chr(65 + CAST(dd_pick(n, 'item series', 26) AS INTEGER)) || printf('-%04d', n)
         WHEN n <= 1980 THEN
              ['Consulting - Hourly', 'Installation Service', 'Commissioning Visit', 'Training Day',
               'Calibration Service', 'Repair Labour', 'Engineering Support', 'Site Survey', 'Project Management',
               'On-site Support', 'Office Consumables', 'Cleaning Supplies', 'Printer Toner', 'Safety Gloves',
               'Shipping Cartons', 'Pallet Wrap', 'Cable Ties', 'Label Rolls', 'AA Batteries', 'Coffee Supplies'][n - 1960]
         WHEN n <= 1990 THEN printf('Legacy Part LP-%03d', n - 1980)
         ELSE printf('Unclassified Item UX-%03d', n - 1990) END;
-- An item's list price in cents: 0.50..5000.00, log-uniform.
CREATE TEMP MACRO dd_item_cents(n) AS
    CAST(floor(exp(ln(50) + dd_u(n, 'list price') * ln(10000))) AS BIGINT);
`

// cleanupSQL drops the helpers: they are per connection, and the connection
// goes back to the caller's pool.
const cleanupSQL = `
DROP TABLE dd_item; DROP TABLE dd_so; DROP TABLE dd_inv; DROP TABLE dd_ci; DROP TABLE dd_po; DROP TABLE dd_apv;
DROP TABLE dd_apvc; DROP TABLE dd_itx;
DROP MACRO dd_item_cents; DROP MACRO dd_item_name; DROP MACRO dd_item_pg; DROP MACRO dd_group_name;
DROP MACRO dd_vendor_name; DROP MACRO dd_phone; DROP MACRO dd_street; DROP MACRO dd_postal_code;
DROP MACRO dd_state; DROP MACRO dd_city; DROP MACRO dd_legal_suffix; DROP MACRO dd_currency;
DROP MACRO dd_country; DROP MACRO dd_customer; DROP MACRO dd_period_id; DROP MACRO dd_icp_currency;
DROP MACRO dd_icp; DROP MACRO dd_company_currency; DROP MACRO dd_company_id; DROP MACRO dd_company_name;
DROP MACRO dd_date; DROP MACRO dd_money; DROP MACRO dd_u2; DROP MACRO dd_u; DROP MACRO dd_bp2;
DROP MACRO dd_bp; DROP MACRO dd_pick2; DROP MACRO dd_pick; DROP MACRO dd_h2; DROP MACRO dd_h;`
